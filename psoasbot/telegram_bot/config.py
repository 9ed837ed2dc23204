"""What `psoasbot telegram` is told: its options, the token and the environment variables."""

from __future__ import annotations

import argparse
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from psoasbot.errors import PsoasbotError
from psoasbot.index import DEFAULT_K

TOKEN_VARIABLE = "PSOASBOT_TELEGRAM_TOKEN"
API_URL_VARIABLE = "PSOASBOT_TELEGRAM_API_URL"
WEBHOOK_SECRET_VARIABLE = "PSOASBOT_TELEGRAM_WEBHOOK_SECRET"
STATE_DIR_VARIABLE = "PSOASBOT_STATE_DIR"
DEFAULT_API_URL = "https://api.telegram.org/bot"

# Ranking takes about 0.3 ms a question on the built-in corpus (about a hundred passages)
# and grows with the corpus (about 13 ms at 10,000 passages on rank-bm25), against about
# 0.1 ms for the hop to a worker thread that keeps a big corpus from holding up every
# other chat. Only a toy corpus is answered on the event loop; for the built-in one either
# way gave the same replies a second in benchmarks/bench_bot_load.py.
OFFLOAD_PASSAGES = 100
# Telegram asks bots to show "typing..." only when a reply takes noticeably long; sending
# it for an answer ready in milliseconds would double the requests per question.
TYPING_AFTER = 0.5
# A BotFather token: the bot's number, a colon, then 35 characters of A-Z a-z 0-9 _ -.
_TOKEN = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{30,80}")
TOKEN_EXAMPLE = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


class TelegramBotError(PsoasbotError):
    """The bot cannot start: no token, a token Telegram rejects, no way to reach Telegram."""


@dataclass(frozen=True)
class BotConfig:
    """Everything `psoasbot telegram` is told: by its options and by the environment."""

    token: str
    base_url: str = DEFAULT_API_URL
    k: int = DEFAULT_K
    webhook_url: str | None = None
    listen: str = "127.0.0.1"
    port: int = 8443
    webhook_secret: str | None = None
    log_text: bool = False
    per_user_limit: int = 10
    per_user_period: float = 60.0
    rate_limiter: bool = True
    poll_timeout: int = 10
    offload_passages: int = OFFLOAD_PASSAGES
    typing_after: float = TYPING_AFTER
    network_retries: int = 4
    network_backoff: float = 0.5
    # The journal's folder; None keeps the journal in memory (tests, and nothing else).
    state_dir: Path | None = None
    # On SIGTERM, how long the replies in progress may take (a long "retry after" from
    # Telegram included) before they are left in the journal for the next start: well
    # under systemd's TimeoutStopSec=30.
    stop_grace: float = 10.0
    # After a restart, questions in the journal older than this are no longer answered.
    replay_max_age: float = 24 * 3600.0
    # A reply sent this long after the question starts with a short apology for the delay.
    late_after: float = 60.0
    # A reply that could not be delivered is tried again after this, then twice as long...
    retry_delay: float = 2.0


def read_token(token_file: str | None, environ: Mapping[str, str]) -> str:
    """Read the token from --token-file, else from PSOASBOT_TELEGRAM_TOKEN.

    Raises:
        TelegramBotError: no token, or one that cannot be a token.
    """
    if token_file:
        try:
            with open(token_file, encoding="utf-8") as file:
                token = file.read().strip()
        except OSError as exc:
            raise TelegramBotError(
                f"cannot read --token-file {token_file}: {exc.strerror}"
            ) from None
        if not token:
            raise TelegramBotError(
                f"--token-file {token_file} is empty; put the token @BotFather gave you in it"
            )
    else:
        token = environ.get(TOKEN_VARIABLE, "").strip()
        if not token:
            raise TelegramBotError(f"set {TOKEN_VARIABLE} to the token @BotFather gave you")
    if re.search(r"[\s/?#]", token):
        raise TelegramBotError(
            "the token has spaces or URL characters in it; copy it again from @BotFather"
        )
    if not _TOKEN.fullmatch(token):
        where = f"--token-file {token_file}" if token_file else TOKEN_VARIABLE
        raise TelegramBotError(
            f"{where} does not hold a bot token: @BotFather's look like {TOKEN_EXAMPLE} (the "
            "bot's number, a colon, then 35 letters, digits, - and _); copy it again from "
            "@BotFather"
        )
    return token


def config_from(args: argparse.Namespace, environ: Mapping[str, str]) -> BotConfig:
    """Build the configuration from the command's options and the environment.

    Raises:
        TelegramBotError: no usable token, or a webhook secret Telegram would refuse.
    """
    token = read_token(args.token_file, environ)
    secret = environ.get(WEBHOOK_SECRET_VARIABLE) or None
    if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
        raise TelegramBotError(
            f"{WEBHOOK_SECRET_VARIABLE} may hold only A-Z, a-z, 0-9, _ and -, 1 to 256 characters"
        )
    if args.webhook_url and secret is None:
        # setWebhook runs at every start, so a fresh secret per run works as well.
        secret = secrets.token_urlsafe(32)
    return BotConfig(
        token=token,
        base_url=environ.get(API_URL_VARIABLE) or DEFAULT_API_URL,
        k=args.top_k,
        webhook_url=args.webhook_url,
        listen=args.listen,
        port=args.port,
        webhook_secret=secret,
        log_text=args.log_text,
        per_user_limit=args.per_user_limit,
        rate_limiter=not args.no_rate_limiter,
        state_dir=state_dir_from(args.state_dir, environ),
        stop_grace=args.stop_grace,
        replay_max_age=args.replay_max_age,
    )


def state_dir_from(option: str | None, environ: Mapping[str, str]) -> Path:
    """Return the folder of the bot's journal: --state-dir, $PSOASBOT_STATE_DIR or the default.

    The default is the user state folder platformdirs gives (`~/.local/state/psoasbot` on
    Linux); under systemd, `StateDirectory=psoasbot` and `--state-dir %S/psoasbot`.

    Raises:
        TelegramBotError: no folder is given and there is no home folder to put it in.
    """
    value = option if option is not None else environ.get(STATE_DIR_VARIABLE, "")
    if value.strip():
        return Path(value).expanduser()
    import platformdirs

    folder = platformdirs.user_state_path("psoasbot", appauthor=False)
    if not folder.is_absolute():
        raise TelegramBotError(
            f"no home folder to keep the bot's journal in; pass --state-dir DIR or set "
            f"{STATE_DIR_VARIABLE}"
        )
    return folder
