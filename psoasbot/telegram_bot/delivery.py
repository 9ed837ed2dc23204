"""Sending one update's reply so that no message is lost, and none arrives more than twice.

When Telegram takes a sendMessage but its answer is lost (a time-out, a dropped
connection, the bot killed in between), nobody knows whether the message arrived. Sending
it again may show it twice; not sending it may leave the question unanswered. psoasbot
chooses **at most twice**: a missing answer to a health question is worse than a repeated
one. So:

- a send that surely did not reach Telegram (no connection could be made, Telegram
  answered with an error or "retry after") is tried again as often as needed;
- a send whose outcome is unknown is not repeated at once: the update is handled again a
  little later (dispatch.py), or at the next start after a kill, and then the message is
  sent at most once more: a message whose outcome was unknown twice is not sent a third
  time (it most likely arrived);
- a message Telegram confirmed is never sent again when the update is handled again.

Every step is written to the journal (journal.py) before the send it precedes, so the
bound holds across kills and power cuts. A message is known by a key made of its chat
and text (`Delivery.send`); a reply is made the same way each time it is made.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field

from psoasbot.telegram_bot._logging import log
from psoasbot.telegram_bot._transport import WIRE, Wire
from psoasbot.telegram_html import LATE_REPLY, TELEGRAM_MAX_CHARS, telegram_length

# Sends of one message whose outcome was unknown, after which it is not sent again.
MAX_UNSURE_SENDS = 2


@dataclass
class Delivery:
    """The reply to one journaled update: what it sent, and how to record that on disk.

    `record` stores (delivered, unsure) in the journal and returns once it is synced.
    """

    update_id: int
    record: Callable[[set[str], dict[str, int]], Awaitable[None]]
    delivered: set[str] = field(default_factory=set)
    unsure: dict[str, int] = field(default_factory=dict)
    # The reply is late: its first message starts with an apology for the delay.
    late: bool = False
    # Handled again (a retry, or after a restart): not counted by the per-user limit again.
    again: bool = False
    # Set when a reply could not be delivered (the update is to be handled again).
    failure: BaseException | None = None
    apologised: bool = False

    async def send(self, chat_id: int, text: str, send: Callable[[str], Awaitable[object]]) -> None:
        """Send one message of the reply through `send(text)`, unless sent before.

        Raises:
            Whatever `send` raises; the journal says first whether it may have arrived.
        """
        key = message_key(chat_id, text)
        if key in self.delivered:
            return
        if self.unsure.get(key, 0) >= MAX_UNSURE_SENDS:
            log.warning(
                "update=%s: a reply message was sent %d times without an answer from "
                "Telegram; not sending it again",
                self.update_id,
                MAX_UNSURE_SENDS,
            )
            return
        if self.late and not self.delivered and not self.apologised:
            self.apologised = True  # the first message of the reply, and only it
            if telegram_length(LATE_REPLY + text) <= TELEGRAM_MAX_CHARS:
                text = LATE_REPLY + text
            else:
                await self.send(chat_id, LATE_REPLY.strip(), send)
        self.unsure[key] = self.unsure.get(key, 0) + 1
        await self.record(set(self.delivered), dict(self.unsure))
        wire = Wire()
        token = WIRE.set(wire)
        try:
            await send(text)
        except BaseException:
            if not wire.outcome_unknown:  # it surely did not arrive: it may be sent again
                self._forget_try(key)
                await asyncio.shield(self.record(set(self.delivered), dict(self.unsure)))
            raise
        finally:
            WIRE.reset(token)
        # Not written at once: the next send, or the end of the update (dispatch.py), writes
        # it. A kill in between makes this message's outcome unknown: sent once more at most.
        self.unsure.pop(key, None)
        self.delivered.add(key)

    def _forget_try(self, key: str) -> None:
        left = self.unsure.get(key, 0) - 1
        if left > 0:
            self.unsure[key] = left
        else:
            self.unsure.pop(key, None)


def message_key(chat_id: int, text: str) -> str:
    """Name a message by its chat and text (a short hash: the journal keeps no text twice)."""
    return hashlib.sha256(f"{chat_id}\n{text}".encode("utf-8", "surrogatepass")).hexdigest()[:24]


CURRENT: ContextVar[Delivery | None] = ContextVar("psoasbot_delivery", default=None)


def current() -> Delivery | None:
    """The reply being sent in this task (dispatch.py sets it for each update it handles)."""
    return CURRENT.get()
