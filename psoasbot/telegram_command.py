"""The options of `psoasbot telegram`: argparse only (the bot itself is telegram_bot/).

Kept apart from cli.py, which they would push past the size of one job, and from the bot's
package, so that `psoasbot --help` never imports python-telegram-bot.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from psoasbot._argtypes import port, positive_int, seconds


def add_telegram_command(
    commands: argparse._SubParsersAction,
    retrieval: argparse.ArgumentParser,
    handler: Callable[[argparse.Namespace], int],
) -> None:
    """Add `psoasbot telegram` and its options; `handler` runs it."""
    telegram = commands.add_parser(
        "telegram",
        parents=[retrieval],
        help="run the Telegram bot",
        description=(
            "Run the Telegram bot, with long polling or (--webhook-url) a webhook, until "
            "SIGINT or SIGTERM. The token comes from PSOASBOT_TELEGRAM_TOKEN or --token-file; "
            "PSOASBOT_TELEGRAM_API_URL points it at a self-hosted Bot API server and "
            "PSOASBOT_TELEGRAM_WEBHOOK_SECRET sets the webhook's secret token. Every question "
            "is journaled in the state folder until answered, so none is lost when the bot is "
            "killed. Needs the 'telegram' extra; without it, this command prints the command "
            "that installs it."
        ),
    )
    telegram.add_argument("--token-file", metavar="PATH", help="read the bot token from a file")
    telegram.add_argument(
        "--webhook-url",
        metavar="URL",
        help="receive updates on this public HTTPS URL instead of long polling",
    )
    telegram.add_argument(
        "--listen",
        default="127.0.0.1",
        metavar="ADDRESS",
        help="webhook: the address to listen on (default 127.0.0.1)",
    )
    telegram.add_argument(
        "--port",
        type=port,
        default=8443,
        help="webhook: the port to listen on (default 8443)",
    )
    telegram.add_argument(
        "--per-user-limit",
        type=positive_int,
        default=10,
        metavar="N",
        help="questions a person may ask per minute (default 10)",
    )
    telegram.add_argument(
        "--no-rate-limiter",
        action="store_true",
        help=(
            "send as fast as replies are ready, not at most 30 messages a second (20 a minute "
            "per group) as Telegram allows: for a load test or a Bot API server without "
            "those limits"
        ),
    )
    telegram.add_argument(
        "--state-dir",
        metavar="DIR",
        help=(
            "where to keep the journal of questions not yet answered, so that none is lost "
            "when the bot is killed (default: $PSOASBOT_STATE_DIR, else ~/.local/state/psoasbot "
            "or your platform's equivalent)"
        ),
    )
    telegram.add_argument(
        "--stop-grace",
        type=seconds,
        default=10.0,
        metavar="SECONDS",
        help=(
            "on SIGTERM, how long replies in progress may take before they are left for the "
            "next start (default 10)"
        ),
    )
    telegram.add_argument(
        "--replay-max-age",
        type=seconds,
        default=24 * 3600.0,
        metavar="SECONDS",
        help="after a restart, answer journaled questions at most this old (default 86400)",
    )
    telegram.add_argument(
        "--log-text",
        action="store_true",
        help="also log what people write (health information: off by default)",
    )
    telegram.add_argument(
        "--log-level",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        default="INFO",
        help="how much to log (default INFO: a line per update)",
    )
    telegram.set_defaults(handler=handler)
