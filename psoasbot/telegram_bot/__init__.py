"""The Telegram front-end: psoasbot as a bot, on python-telegram-bot v22 (async).

Usage:
    export PSOASBOT_TELEGRAM_TOKEN=123456789:AA...      # the token @BotFather gave you
    psoasbot telegram                                   # long polling
    psoasbot telegram --webhook-url https://bot.example.org/psoasbot --port 8443

Environment: PSOASBOT_TELEGRAM_TOKEN (or --token-file PATH), PSOASBOT_TELEGRAM_API_URL (a
self-hosted Bot API server; default https://api.telegram.org/bot), PSOASBOT_STATE_DIR (or
--state-dir DIR: the journal's folder) and, with a webhook, PSOASBOT_TELEGRAM_WEBHOOK_SECRET.

No question is lost: each update is journaled on disk before Telegram is told it may forget
it, and marked done once answered; a restart after a kill answers what is left.

In a private chat every text message is a question; the reply lists the passages, each
with its citation, then the disclaimer. /start, /help, /sources and /ask QUESTION work
everywhere; in a group (privacy mode on) the bot answers /ask, replies to its own
messages and @mentions of it, and ignores all other chatter.

Each handled update is logged as one line: chat type, handler, outcome and latency. What
people write is health information, so it is logged only with --log-text; the bot token
is never logged (every log record is redacted, and httpx, python-telegram-bot's own HTTP
client, which logs request URLs, is kept at WARNING should it ever be used).

This package is the only part of psoasbot that imports telegram: config.py (options, token,
environment), limit.py (the per-user limit), handlers.py (what each update gets),
app.py (building, running and stopping the application), polling.py and webhook.py (taking
updates in), dispatch.py (journaling and handling each one), journal.py (the SQLite file),
delivery.py (sending a reply at least once and at most twice), _logging.py and
_transport.py (the aiohttp HTTP transport). How replies look is telegram_html.py's job.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError

from psoasbot.errors import PsoasbotError
from psoasbot.telegram_bot._logging import TokenRedactor, configure_logging, log
from psoasbot.telegram_bot.app import build_application, serve
from psoasbot.telegram_bot.config import (
    API_URL_VARIABLE,
    TOKEN_VARIABLE,
    TelegramBotError,
    config_from,
)
from psoasbot.telegram_bot.handlers import Asker


def _exit_on_sigterm(signum: int, frame: object) -> None:
    log.info("Received SIGTERM while starting")
    raise SystemExit(0)


def main(
    args: argparse.Namespace,
    load_assistant: Callable[[], Asker],
    environ: Mapping[str, str] | None = None,
) -> int:
    """Run `psoasbot telegram` until SIGINT or SIGTERM; return the exit status.

    The options and the token are checked, and logging set up, before `load_assistant()`
    builds the assistant (the CLI's, so that every command loads its index one way).

    Raises:
        TelegramBotError: the bot cannot start (the CLI prints it as `Error: ...`).
    """
    environ = os.environ if environ is None else environ
    config = config_from(args, environ)
    # Opt in to python-telegram-bot's coming time periods as timedelta: otherwise its own
    # RetryAfter warns of the change at every flood-control answer from Telegram.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    redactor = TokenRedactor([config.token, config.webhook_secret])
    configure_logging(args.log_level, redactor, config.log_text)
    # Until the bot runs (and takes over SIGTERM), a stop request just ends the start-up.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        application = build_application(config, load_assistant())
        asyncio.run(serve(application, config))
    except PsoasbotError:
        raise
    except InvalidToken:
        raise TelegramBotError(
            f"Telegram rejected the token; check {TOKEN_VARIABLE} (or --token-file) holds the "
            "whole token @BotFather gave you, or get a new one there with /token"
        ) from None
    except TelegramError as exc:
        # BadRequest is a NetworkError to python-telegram-bot, but Telegram did answer it.
        if isinstance(exc, NetworkError) and not isinstance(exc, BadRequest):
            where = urlsplit(config.base_url).netloc or config.base_url
            raise TelegramBotError(
                redactor.redact(
                    f"cannot reach the Telegram Bot API at {where} ({exc.message}); check "
                    f"the network, or {API_URL_VARIABLE}"
                )
            ) from None
        raise TelegramBotError(
            redactor.redact(f"Telegram refused to start the bot: {exc.message}")
        ) from None
    except OSError as exc:
        if not config.webhook_url:
            raise
        raise TelegramBotError(
            redactor.redact(f"cannot listen on {config.listen}:{config.port}: {exc}")
        ) from None
    except Exception as exc:
        log.critical("Unexpected failure", exc_info=True)
        raise TelegramBotError(
            redactor.redact(f"unexpected failure ({type(exc).__name__}: {exc}); see the log")
        ) from None
    return 0
