"""The bot's log: one logger, stderr, and a filter that keeps the token out of every record."""

from __future__ import annotations

import logging
from collections.abc import Iterable

log = logging.getLogger("psoasbot.telegram")

_REDACTED = "[REDACTED]"


class TokenRedactor(logging.Filter):
    """Replace the bot token (and the webhook secret) in every log record with [REDACTED].

    The secret part of a token (after the colon) is redacted on its own too, as a URL may
    carry it percent-encoded.
    """

    def __init__(self, secrets: Iterable[str | None]) -> None:
        super().__init__()
        found = set()
        for secret in secrets:
            if secret:
                found.add(secret)
                _, _, tail = secret.partition(":")
                if len(tail) >= 8:
                    found.add(tail)
        self._secrets = sorted(found, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, _REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def configure_logging(level: str, redactor: TokenRedactor, log_text: bool) -> None:
    """Log to stderr at `level`, through the redactor, without anybody's messages.

    At DEBUG, python-telegram-bot logs whole requests and updates, message text included,
    so its loggers stay at INFO unless --log-text allows message text in the log.
    """
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
    logging.captureWarnings(True)
    numeric = logging.getLevelName(level)
    # httpx (if used) logs every request URL at INFO, and a Bot API URL holds the token.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # aiohttp's server would log a line per webhook request (webhook.py turns it off too);
    # the bot logs its own line per update.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    if not log_text:
        logging.getLogger("telegram").setLevel(max(numeric, logging.INFO))
