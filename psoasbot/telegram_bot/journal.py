"""The bot's journal: every update it takes from Telegram, kept on disk until it is answered.

Telegram forgets an update once the bot asks for the next ones (getUpdates with a higher
offset) or answers the webhook's request, so an update is written here, and the write
synced to disk, before either happens. It is marked done once answered; after a crash, a
kill or a power cut, the next start answers what is still pending.

For each update the journal also keeps what its reply has done so far, so that a restart
or a retry sends no message twice that Telegram confirmed once, and none more than twice
(see delivery.py):

- `delivered`: the keys of the reply messages Telegram confirmed;
- `unsure`: for each other key, how many sends may have reached Telegram without an answer
  (a time-out, a dropped connection, a kill in the middle of a send);
- `open_tries`: how many times answering it started and never ended: a process that dies
  each time on one update (out of memory, say) gives up on it after MAX_OPEN_TRIES.

One SQLite file per bot (`journal-<bot id>.sqlite3`: update ids are a bot's own, so
another bot's must not be mistaken for them), stdlib sqlite3 in write-ahead-log mode,
with every commit synced (`synchronous=FULL`): a power cut loses nothing that was
committed. Only one process may use a journal at a time (it holds an exclusive lock), and
it calls it from one thread (GroupCommit), which commits together the writes of all the
updates in progress.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psoasbot.cache import make_private_dir

# A process that died this many times while answering one update will die again on it.
MAX_OPEN_TRIES = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS updates (
    update_id INTEGER PRIMARY KEY,
    received REAL NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    open_tries INTEGER NOT NULL DEFAULT 0,
    delivered TEXT NOT NULL DEFAULT '[]',
    unsure TEXT NOT NULL DEFAULT '{}'
)
"""


class JournalError(Exception):
    """The journal cannot be opened: the folder, the file or another process holding it."""


@dataclass
class Entry:
    """One journaled update and what its reply has done so far."""

    update_id: int
    received: float
    payload: str
    open_tries: int = 0
    delivered: set[str] = field(default_factory=set)
    unsure: dict[str, int] = field(default_factory=dict)


class Journal:
    """The updates taken from Telegram and not yet answered, in a SQLite file (or in memory).

    Not thread-safe: the bot calls it from one thread of its own (GroupCommit).
    """

    def __init__(self, folder: Path | None, bot_id: str = "bot") -> None:
        """Open (creating if need be) the bot's journal in `folder`; None keeps it in memory.

        Raises:
            JournalError: the folder or the file cannot be made or opened, or another
                process is using the journal.
        """
        name = f"journal-{bot_id}"
        self.path = None if folder is None else folder / f"{name}.sqlite3"
        self._lock_fd: int | None = None
        self._batched = False
        if folder is None or self.path is None:
            database = ":memory:"
        else:
            database = str(self.path)
            try:
                make_private_dir(folder)
                self._lock(folder / f"{name}.lock")
                _create_private(self.path)
            except OSError as exc:
                self._unlock()
                raise JournalError(f"{exc.filename or folder}: {exc.strerror or exc}") from None
        try:
            self._db = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(_SCHEMA)
        except sqlite3.Error as exc:
            self._unlock()
            raise JournalError(f"{database}: {exc}") from None

    def _lock(self, path: Path) -> None:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks; one bot per folder is up to you
            return
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise JournalError(
                f"another psoasbot is using the journal in {path.parent}; stop it, or give "
                "this one its own --state-dir"
            ) from None
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the lock
            self._lock_fd = None

    def close(self) -> None:
        self._db.close()
        self._unlock()

    def add(self, updates: list[tuple[int, str]], now: float | None = None) -> list[int]:
        """Journal updates (id, JSON as received), synced; return the ids it did not hold yet.

        An id already in the journal (Telegram sending again an update whose offset did not
        move before a crash) is not added twice.
        """
        now = time.time() if now is None else now
        added = []
        with self._transaction():
            for update_id, payload in updates:
                cursor = self._db.execute(
                    "INSERT OR IGNORE INTO updates (update_id, received, payload) VALUES (?, ?, ?)",
                    (update_id, now, payload),
                )
                if cursor.rowcount:
                    added.append(update_id)
        return added

    def entry(self, update_id: int) -> Entry:
        row = self._db.execute(
            "SELECT update_id, received, payload, open_tries, delivered, unsure FROM updates "
            "WHERE update_id = ?",
            (update_id,),
        ).fetchone()
        if row is None:
            raise KeyError(update_id)
        return _entry(row)

    def pending(self, now: float, max_age: float) -> tuple[list[Entry], int, int]:
        """Return the pending updates to answer, and how many were too old or given up.

        Updates older than `max_age` seconds, or whose answering was cut short
        MAX_OPEN_TRIES times, are marked as given up and not returned.
        """
        with self._transaction():
            old = self._db.execute(
                "UPDATE updates SET state = 'expired', payload = '' "
                "WHERE state = 'pending' AND received < ?",
                (now - max_age,),
            ).rowcount
            poison = self._db.execute(
                "UPDATE updates SET state = 'given_up', payload = '' WHERE state = 'pending' "
                "AND open_tries >= ?",
                (MAX_OPEN_TRIES,),
            ).rowcount
        rows = self._db.execute(
            "SELECT update_id, received, payload, open_tries, delivered, unsure FROM updates "
            "WHERE state = 'pending' ORDER BY update_id"
        ).fetchall()
        return [_entry(row) for row in rows], old, poison

    def begin_try(self, update_id: int) -> None:
        """Count a start of answering the update (a crash before end_try leaves it counted)."""
        self._execute(
            "UPDATE updates SET open_tries = open_tries + 1 WHERE update_id = ?", (update_id,)
        )

    def end_try(
        self,
        update_id: int,
        state: str,
        delivered: set[str] | None = None,
        unsure: dict[str, int] | None = None,
    ) -> None:
        """End an attempt: `state` is "done", "skipped" or "pending" (to be tried again).

        `delivered` and `unsure`, when given, are what the reply sent (as record_sends).
        An update no longer pending keeps only its id (to recognise it, should Telegram
        send it again): what people write is health information, kept no longer than needed.
        """
        with self._transaction():
            if delivered is not None and unsure is not None:
                self.record_sends(update_id, delivered, unsure)
            self._db.execute(
                "UPDATE updates SET open_tries = max(open_tries - 1, 0), state = ?, payload = "
                "CASE WHEN ? = 'pending' THEN payload ELSE '' END WHERE update_id = ?",
                (state, state, update_id),
            )

    def finish(self, update_id: int, state: str) -> None:
        """Mark an update that was never tried (unreadable, too old) as `state`."""
        self._execute(
            "UPDATE updates SET state = ?, payload = '' WHERE update_id = ?", (state, update_id)
        )

    def record_sends(self, update_id: int, delivered: set[str], unsure: dict[str, int]) -> None:
        """Store what the update's reply has sent so far (synced before the send it precedes)."""
        self._execute(
            "UPDATE updates SET delivered = ?, unsure = ? WHERE update_id = ?",
            (json.dumps(sorted(delivered)), json.dumps(unsure, sort_keys=True), update_id),
        )

    def prune(self, before: float) -> int:
        """Delete every update journaled before `before` (seconds since the epoch).

        Telegram keeps an unconfirmed update for a day and may send it again until then, so
        done updates are kept at least that long to be recognised.
        """
        return self._execute("DELETE FROM updates WHERE received < ?", (before,))

    def counts(self) -> dict[str, int]:
        """How many updates are in each state (for tests and the log)."""
        rows = self._db.execute("SELECT state, count(*) FROM updates GROUP BY state").fetchall()
        return {state: count for state, count in rows}

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Make every call inside one transaction, committed (and synced) once at the end.

        A sync takes milliseconds: the bot commits the journal writes of all the updates in
        progress together (dispatch.py), not one by one.
        """
        with self._transaction():
            self._batched = True
            try:
                yield
            finally:
                self._batched = False

    def _execute(self, sql: str, parameters: tuple[object, ...]) -> int:
        with self._transaction():
            return self._db.execute(sql, parameters).rowcount

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        if self._batched:  # part of a batch: it commits
            yield
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")


def _entry(row: tuple[int, float, str, int, str, str]) -> Entry:
    update_id, received, payload, open_tries, delivered, unsure = row
    return Entry(
        update_id, received, payload, open_tries, set(json.loads(delivered)), json.loads(unsure)
    )


def _create_private(path: Path) -> None:
    """Create the journal file readable by its owner only, and refuse anything but a file.

    SQLite gives its -wal and -shm files the mode of the database file.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(0, "not a regular file", str(path))
        if info.st_mode & 0o077 and hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


class GroupCommit:
    """The journal's own thread: calls made in order, off the event loop, committed in groups.

    The calls that queue up while a commit is being synced to disk (milliseconds) are
    committed together, with one sync: one at a time, syncs would cap the bot at a few
    hundred journal writes a second, and an update takes four.
    """

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._queue: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="psoasbot-journal", daemon=True)
        self._thread.start()

    def submit(self, function: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.put((function, args, future, loop))
        return future

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _work(self) -> None:
        while (first := self._queue.get()) is not None:
            calls = [first]
            stop = False
            while True:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                calls.append(more)
            outcomes: list[tuple[bool, Any]] = []
            try:
                with self._journal.batch():
                    for function, args, _, _ in calls:
                        try:
                            outcomes.append((True, function(*args)))
                        except Exception as exc:  # noqa: BLE001 - handed to its caller
                            outcomes.append((False, exc))
            except Exception as exc:  # noqa: BLE001 - the commit failed: every call did
                outcomes = [(False, exc)] * len(calls)
            # One wake-up of the event loop for the whole batch, not one per call.
            settled = [
                (future, outcome)
                for (_, _, future, _), outcome in zip(calls, outcomes, strict=True)
            ]
            calls[0][3].call_soon_threadsafe(_settle_all, settled)
            if stop:
                break


_Call = tuple[Callable[..., Any], tuple[Any, ...], "asyncio.Future[Any]", asyncio.AbstractEventLoop]


def _settle_all(settled: list[tuple[asyncio.Future[Any], tuple[bool, Any]]]) -> None:
    for future, (ok, value) in settled:
        if future.cancelled():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
