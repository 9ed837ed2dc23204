"""journal.py: what the bot keeps on disk until a question is answered."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from psoasbot.telegram_bot.journal import MAX_OPEN_TRIES, Journal, JournalError


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    opened = Journal(tmp_path / "state", "42")
    yield opened
    opened.close()


def test_an_update_is_added_once_and_pending_until_done(journal: Journal) -> None:
    assert journal.add([(1, '{"update_id": 1}'), (2, '{"update_id": 2}')], now=100.0) == [1, 2]
    assert journal.add([(2, '{"update_id": 2}'), (3, '{"update_id": 3}')], now=101.0) == [3]
    journal.begin_try(1)
    journal.end_try(1, "done")
    journal.begin_try(2)
    journal.end_try(2, "pending")

    entries, expired, given_up = journal.pending(now=102.0, max_age=60.0)
    assert [(e.update_id, e.payload, e.open_tries) for e in entries] == [
        (2, '{"update_id": 2}', 0),
        (3, '{"update_id": 3}', 0),
    ]
    assert (expired, given_up) == (0, 0)
    assert journal.entry(1).payload == ""  # the question's text is not kept once answered
    assert journal.counts() == {"done": 1, "pending": 2}


def test_what_a_reply_sent_is_kept(journal: Journal) -> None:
    journal.add([(5, "{}")], now=0.0)
    journal.record_sends(5, {"b", "a"}, {"c": 1})
    entry = journal.entry(5)
    assert (entry.delivered, entry.unsure) == ({"a", "b"}, {"c": 1})


def test_too_old_and_repeatedly_fatal_updates_are_given_up(journal: Journal) -> None:
    journal.add([(1, "{}")], now=0.0)
    journal.add([(2, "{}"), (3, "{}")], now=1000.0)
    for _ in range(MAX_OPEN_TRIES):
        journal.begin_try(2)  # the process died while answering it, every time

    entries, expired, given_up = journal.pending(now=1010.0, max_age=100.0)
    assert [e.update_id for e in entries] == [3]
    assert (expired, given_up) == (1, 1)
    assert journal.counts() == {"expired": 1, "given_up": 1, "pending": 1}


def test_prune_deletes_old_updates(journal: Journal) -> None:
    journal.add([(1, "{}")], now=0.0)
    journal.add([(2, "{}")], now=500.0)
    assert journal.prune(before=100.0) == 1
    assert journal.add([(1, "{}")], now=600.0) == [1]  # not recognised any more


def test_it_survives_reopening(tmp_path: Path) -> None:
    first = Journal(tmp_path, "42")
    first.add([(9, '{"update_id": 9}')], now=0.0)
    first.close()
    again = Journal(tmp_path, "42")
    try:
        assert [e.update_id for e in again.pending(now=1.0, max_age=60.0)[0]] == [9]
    finally:
        again.close()


def test_each_bot_has_its_own_journal(tmp_path: Path) -> None:
    one, other = Journal(tmp_path, "1"), Journal(tmp_path, "2")
    try:
        one.add([(1, "{}")], now=0.0)
        assert other.add([(1, "{}")], now=0.0) == [1]
    finally:
        one.close()
        other.close()


def test_a_second_process_cannot_use_the_same_journal(journal: Journal, tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="another psoasbot is using the journal in .*state"):
        Journal(tmp_path / "state", "42")


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_folder_and_file_are_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        opened = Journal(tmp_path / "deep" / "state", "42")
        opened.add([(1, "{}")], now=0.0)
    finally:
        os.umask(old)
    try:
        modes = {
            p.name: stat.S_IMODE(p.stat().st_mode)
            for p in [
                tmp_path / "deep",
                tmp_path / "deep" / "state",
                *sorted((tmp_path / "deep" / "state").iterdir()),
            ]
        }
    finally:
        opened.close()
    assert modes == {
        "deep": 0o700,
        "state": 0o700,
        "journal-42.lock": 0o600,
        "journal-42.sqlite3": 0o600,
        "journal-42.sqlite3-shm": 0o600,
        "journal-42.sqlite3-wal": 0o600,
    }


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_fifo_in_place_of_the_journal_is_refused(tmp_path: Path) -> None:
    tmp_path.joinpath("state").mkdir()
    os.mkfifo(tmp_path / "state" / "journal-42.sqlite3")
    with pytest.raises(JournalError, match="not a regular file"):
        Journal(tmp_path / "state", "42")


def test_a_state_folder_that_is_a_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("a file")
    with pytest.raises(JournalError):
        Journal(tmp_path / "state", "42")
