"""From an update as Telegram sent it to its handled reply, through the journal.

Polling (polling.py) and the webhook (webhook.py) hand every update they receive to
`Dispatcher.accept`, which journals it (synced to disk) before they acknowledge it to
Telegram, then handles it in a task of its own: parsed by python-telegram-bot, passed to
the handlers with at most CONCURRENT_UPDATES at once (the application's update processor),
and marked done in the journal once answered.

- An update python-telegram-bot cannot parse (a field missing or of another type, as a
  new Bot API version can bring) is logged once, with its kind and id only, and skipped.
- A reply that could not be delivered (Telegram unreachable, or its answer lost) leaves
  the update pending: it is handled again after `retry_delay`, then twice as long, and so
  on, until the journal's age limit (delivery.py says why no message then arrives more
  than twice).
- At start, `replay` handles what the journal still holds from the last run.
- `drain` lets the updates in progress finish for a grace period, then cancels them: they
  stay in the journal for the next start.
- Telegram refusing the token while running is fatal: `fatal` is set and the bot stops.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from telegram import Update
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application

from psoasbot.telegram_bot._logging import log
from psoasbot.telegram_bot.config import BotConfig
from psoasbot.telegram_bot.delivery import CURRENT, Delivery
from psoasbot.telegram_bot.journal import Entry, GroupCommit, Journal

# Journaled updates are kept this long at least (Telegram may send an unconfirmed update
# again for a day), then deleted.
KEEP_SECONDS = 2 * 24 * 3600.0
_PRUNE_EVERY = 3600.0
# Updates taken in and not yet handled, above which polling waits: the rest wait at
# Telegram (which keeps them a day), not in this process's memory.
MAX_IN_PROGRESS = 1000
_MAX_RETRY_DELAY = 300.0
_KIND = re.compile(r"[a-z_]{1,64}")

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


class Dispatcher:
    """Journal the updates received, handle each once answered, and keep track of them."""

    def __init__(self, application: AnyApplication, journal: Journal, config: BotConfig) -> None:
        self.application = application
        self.journal = journal
        self.config = config
        self._writer = GroupCommit(journal)
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._retries: dict[int, int] = {}
        self._waiting: set[int] = set()  # updates waiting to be tried again
        self._room = asyncio.Event()
        self._room.set()
        self._next_prune = 0.0
        self.fatal: BaseException | None = None
        self.fatal_event = asyncio.Event()

    async def call(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run a journal method in the journal's thread; return once it is synced to disk."""
        return await self._writer.submit(function, *args)

    # --- what comes in -------------------------------------------------------------------

    async def accept(self, raw: Sequence[object]) -> int | None:
        """Journal the updates of a getUpdates answer or a webhook request, then handle them.

        Returns the highest update_id seen (the next offset is one more), None if none.
        Returns only once the updates are on disk: the caller may then acknowledge them.
        """
        updates: list[tuple[int, str]] = []
        for item in raw:
            update_id = item.get("update_id") if isinstance(item, dict) else None
            if isinstance(update_id, int) and not isinstance(update_id, bool):
                updates.append((update_id, json.dumps(item, ensure_ascii=False)))
            else:
                log.warning("Skipped an update without an update_id (kind=%s)", _kind_of(item))
        if not updates:
            return None
        now = time.time()
        if now >= self._next_prune:
            self._next_prune = now + _PRUNE_EVERY
            await self.call(
                self.journal.prune, now - max(KEEP_SECONDS, 2 * self.config.replay_max_age)
            )
        added = await self.call(self.journal.add, updates, now)
        payloads = dict(updates)
        for update_id in added:
            self._start(Entry(update_id, now, payloads[update_id]))
        return max(update_id for update_id, _ in updates)

    async def replay(self) -> int:
        """Handle what the journal still holds from the last run; return how many."""
        entries, expired, given_up = await self.call(
            self.journal.pending, time.time(), self.config.replay_max_age
        )
        if expired or given_up:
            log.warning(
                "Not answering %d questions from the journal older than %.0f s, and %d on "
                "which the bot stopped %s",
                expired,
                self.config.replay_max_age,
                given_up,
                "each time it answered them",
            )
        if entries:
            log.info("Answering %d updates left in the journal by the last run", len(entries))
        for entry in entries:
            self._start(entry, again=True)
        return len(entries)

    # --- handling ------------------------------------------------------------------------

    def _start(self, entry: Entry, again: bool = False, delay: float = 0.0) -> None:
        if entry.update_id in self._tasks:
            return
        task = asyncio.create_task(self._handle(entry, again, delay))
        self._tasks[entry.update_id] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self._tasks.get(entry.update_id) is done:
                del self._tasks[entry.update_id]
            if len(self._tasks) < MAX_IN_PROGRESS:
                self._room.set()

        task.add_done_callback(forget)
        if len(self._tasks) >= MAX_IN_PROGRESS:
            self._room.clear()

    async def room(self) -> None:
        """Return once fewer than MAX_IN_PROGRESS updates are in progress."""
        await self._room.wait()

    async def _handle(self, entry: Entry, again: bool, delay: float) -> None:
        if delay:
            self._waiting.add(entry.update_id)
            try:
                await asyncio.sleep(delay)
            finally:
                self._waiting.discard(entry.update_id)
        update = self._parse(entry)
        if update is None:
            await self.call(self.journal.finish, entry.update_id, "skipped")
            return
        processor = self.application.update_processor
        await processor.process_update(update, self._try(entry, update, again))

    def _parse(self, entry: Entry) -> Update | None:
        data = json.loads(entry.payload)
        try:
            update = Update.de_json(data, self.application.bot)
        except Exception as exc:  # noqa: BLE001 - whatever a field of another shape raises
            # The exception's text may quote the update: only its type is logged.
            log.warning(
                "Skipped update %s (kind=%s): python-telegram-bot cannot read it (%s)",
                entry.update_id,
                _kind_of(data),
                type(exc).__name__,
            )
            return None
        return update

    async def _try(self, entry: Entry, update: Update, again: bool) -> None:
        update_id = entry.update_id
        if again:  # the journal's copy is the newest: an earlier try may have sent messages
            entry = await self.call(self.journal.entry, update_id)
        await self.call(self.journal.begin_try, update_id)

        async def record(delivered: set[str], unsure: dict[str, int]) -> None:
            await self.call(self.journal.record_sends, update_id, delivered, unsure)

        delivery = Delivery(
            update_id,
            record,
            entry.delivered,
            entry.unsure,
            late=_age(update) > self.config.late_after,
            again=again,
        )
        CURRENT.set(delivery)  # this task's own context: seen by the handlers and sends
        state = "pending"
        try:
            await self.application.process_update(update)
            state = "done" if delivery.failure is None else "pending"
        finally:
            # Cancelled (the bot stopping): the update stays pending for the next start.
            await asyncio.shield(
                self.call(
                    self.journal.end_try, update_id, state, delivery.delivered, delivery.unsure
                )
            )
        if state == "done":
            self._retries.pop(update_id, None)
        elif self.fatal is None:
            self._retry(entry)

    def _retry(self, entry: Entry) -> None:
        tries = self._retries.get(entry.update_id, 0) + 1
        self._retries[entry.update_id] = tries
        if time.time() - entry.received > self.config.replay_max_age:
            log.warning("update=%s: not delivered, and now too old to try again", entry.update_id)
            self._retries.pop(entry.update_id, None)
            return
        delay = min(self.config.retry_delay * 2 ** (tries - 1), _MAX_RETRY_DELAY)
        log.warning(
            "update=%s: reply not delivered; trying again in %.1f s", entry.update_id, delay
        )
        self._tasks.pop(entry.update_id, None)
        self._start(entry, again=True, delay=delay)

    # --- outcomes the error handler reports ------------------------------------------------

    def failed(self, error: BaseException) -> bool:
        """Note an error from a handler; return True if the user should get an apology.

        A reply that could not be delivered is tried again later (no apology: it would not
        get through either); a token Telegram refuses stops the bot.
        """
        delivery = CURRENT.get()
        if isinstance(error, InvalidToken):
            self.stop_with(error)
            if delivery is not None:
                delivery.failure = error
            return False
        if isinstance(error, Forbidden):  # the user blocked the bot: nobody to answer
            return False
        if isinstance(error, BadRequest):  # Telegram refused this reply: sending it again won't do
            return True
        if isinstance(error, (NetworkError, RetryAfter)) and delivery is not None:
            delivery.failure = error
            return False
        return True

    def stop_with(self, error: BaseException) -> None:
        if self.fatal is None:
            self.fatal = error
        self.fatal_event.set()

    # --- stopping --------------------------------------------------------------------------

    async def drain(self, grace: float) -> int:
        """Let the updates in progress finish for `grace` seconds, then cancel the others.

        Returns how many were cancelled (they stay in the journal for the next start).
        """
        for update_id in self._waiting:  # waiting to be tried again: the next start will
            self._tasks[update_id].cancel()
        tasks = set(self._tasks.values())
        if tasks:
            _, still = await asyncio.wait(tasks, timeout=grace)
        else:
            still = set()
        if still:
            log.warning(
                "%d replies still waiting after %.0f s (Telegram asked to retry later, or "
                "is unreachable); kept in the journal for the next start",
                len(still),
                grace,
            )
            for task in still:
                task.cancel()
            await asyncio.wait(still, timeout=10)
        return len(still)

    def close(self) -> None:
        self._writer.close()

    @property
    def in_progress(self) -> int:
        return len(self._tasks)


def _kind_of(item: object) -> str:
    """The kind of an update ("message", "edited_message"...), from its keys only."""
    if isinstance(item, dict):
        for key in item:
            if key != "update_id" and isinstance(key, str) and _KIND.fullmatch(key):
                return key
    return "unknown"


def _age(update: Update) -> float:
    """Seconds since the message was sent (or edited); 0 for updates without a date."""
    message = update.effective_message
    if message is None or message.date is None:
        return 0.0
    sent = message.edit_date or message.date
    return max(0.0, time.time() - sent.timestamp())
