"""Long polling: getUpdates, journal what came, then ask for the next ones.

python-telegram-bot's Updater parses a whole getUpdates answer before it moves the offset,
so one update it cannot parse is fetched again and again and nothing after it is ever
answered; and it moves the offset (which tells Telegram to forget the updates) as soon as
they are fetched, before anything is answered or kept. Here the answer is taken as JSON,
each update is journaled (dispatch.py) before the offset moves past it, and parsing
happens per update, later, where one that cannot be parsed is skipped alone.

Only python-telegram-bot's public API is used: the bot's getUpdates request object
(`BaseRequest.post`, which maps Telegram's errors to telegram.error exceptions) and
`Bot.base_url`.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Sequence
from urllib.parse import urlencode

from telegram.error import InvalidToken, TelegramError
from telegram.request import BaseRequest

from psoasbot.telegram_bot._logging import log
from psoasbot.telegram_bot.dispatch import AnyApplication, Dispatcher

# Updates asked for at once (Telegram's maximum).
BATCH = 100
# After a failed getUpdates, wait 1 s, then 1.5 times longer each time, up to 30 s.
_FIRST_DELAY, _GROWTH, _MAX_DELAY = 1.0, 1.5, 30.0


async def poll(
    application: AnyApplication,
    request: BaseRequest,
    dispatcher: Dispatcher,
    allowed_updates: Sequence[str],
    timeout: int,
) -> None:
    """Ask Telegram for updates until cancelled; each is journaled before it is confirmed.

    Raises:
        InvalidToken: Telegram refused the token (revoked while the bot was running).
    """
    url = f"{application.bot.base_url}/getUpdates"
    offset: int | None = None
    delay = _FIRST_DELAY
    while True:
        await dispatcher.room()
        parameters: dict[str, object] = {
            "timeout": timeout,
            "limit": BATCH,
            "allowed_updates": json.dumps(list(allowed_updates)),
        }
        if offset is not None:
            parameters["offset"] = offset
        try:
            # Telegram reads a method's parameters from the query string as from a form.
            answer = await request.post(
                f"{url}?{urlencode(parameters)}", read_timeout=timeout + 10.0
            )
        except InvalidToken:
            raise
        except TelegramError as exc:
            log.warning(
                "Getting updates from Telegram failed (%s: %s); retrying in %.1f s",
                type(exc).__name__,
                exc,
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * _GROWTH, _MAX_DELAY)
            continue
        delay = _FIRST_DELAY
        if not isinstance(answer, list):
            log.warning("getUpdates answered with something other than a list; ignored")
            await asyncio.sleep(_FIRST_DELAY)
            continue
        try:
            last = await dispatcher.accept(answer)
        except (sqlite3.Error, OSError) as exc:
            # Not on disk: the offset stays, so Telegram keeps them and sends them again.
            log.error("Could not journal the updates received (%s); retrying in %.1f s", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * _GROWTH, _MAX_DELAY)
            continue
        if last is not None:
            offset = last + 1
