"""progress.py: a build's progress on a terminal after a second; nothing when piped.

tqdm reads its clock through `tqdm.std.time`; the tests give it a fake one, so that the
lines drawn (and the time left in them) are exact.
"""

from __future__ import annotations

import io

import pytest
import tqdm.std
from conftest import FakeTTY

from psoasbot.pipeline import BuildProgress
from psoasbot.progress import TerminalProgress


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(tqdm.std, "time", fake)
    return fake


def build(progress: TerminalProgress, clock: Clock, seconds_a_document: float) -> None:
    """Four documents, then the engine's last step, as pipeline.index_documents reports."""
    for n, passages in enumerate([3, 7, 1000, 1200], 1):
        clock.now += seconds_a_document
        progress(BuildProgress(n, 4, passages))
    progress(BuildProgress(4, 4, 1200, indexing=True))


def test_a_long_build_on_a_terminal_shows_documents_passages_and_time_left(
    clock: Clock,
) -> None:
    stream = FakeTTY()
    with TerminalProgress(stream) as progress:
        build(progress, clock, seconds_a_document=2.0)
    assert stream.getvalue().split("\r") == [
        "",
        # The first line after a second: 2 documents in 2 s, 2 more to go.
        "Indexing: 2/4 documents read, 7 passages, 00:02 left |##########          |",
        "Indexing: 3/4 documents read, 1,000 passages, 00:01 left |###############     |",
        "Indexing: 4/4 documents read, 1,200 passages, 00:00 left |####################|",
        # Padded to the length of the line before, which it overwrites.
        "Indexing: 4/4 documents read, 1,200 passages; building the index               ",
        " " * 64,  # cleared when done
        "",
    ]


def test_a_build_within_a_second_shows_nothing(clock: Clock) -> None:
    stream = FakeTTY()
    with TerminalProgress(stream) as progress:
        build(progress, clock, seconds_a_document=0.2)
    assert stream.getvalue() == ""


def test_nothing_when_not_a_terminal(clock: Clock) -> None:
    stream = io.StringIO()
    with TerminalProgress(stream) as progress:
        build(progress, clock, seconds_a_document=10.0)
    assert stream.getvalue() == ""


def test_an_unknown_total_shows_the_count_only(clock: Clock) -> None:
    stream = FakeTTY()
    with TerminalProgress(stream) as progress:
        for n in range(1, 4):
            clock.now += 2
            progress(BuildProgress(n, None, n * 2))
    assert stream.getvalue().split("\r") == [
        "",
        "Indexing: documents read 2, 4 passages",
        "Indexing: documents read 3, 6 passages",
        " " * 38,
        "",
    ]


def test_a_first_embedding_shows_texts_and_time_left_then_clears(clock: Clock) -> None:
    stream = FakeTTY()
    with TerminalProgress(stream) as progress:
        for done in (32, 64, 96, 128, 150):
            clock.now += 0.6
            progress.embedding(done, 150)
    lines = stream.getvalue().split("\r")
    # The bar starts with the first report; its first line comes a second after that.
    assert lines[1] == (
        "Embedding for semantic matching: 96/150 texts, 00:00 left |############8       |"
    )
    assert lines[-2:] == [" " * len(lines[-3].rstrip()), ""]  # cleared when done


def test_a_quick_embedding_shows_nothing(clock: Clock) -> None:
    stream = FakeTTY()
    with TerminalProgress(stream) as progress:
        for done in (75, 150):
            clock.now += 0.1
            progress.embedding(done, 150)
    assert stream.getvalue() == ""
