"""An index build's progress on a terminal: documents read, passages, time left.

tqdm draws the line: it is installed anyway (nltk depends on it), and it already does what
a few lines of our own would get wrong: it waits for the first second before showing
anything, redraws at most ten times a second, fits the terminal's width, estimates the
time left from the rate so far, and clears its line when done.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, NoReturn, TextIO

if TYPE_CHECKING:
    from tqdm import tqdm

    from psoasbot.pipeline import BuildProgress

# tqdm's fields; `postfix` arrives as ", <text>".
_KNOWN_TOTAL = "Indexing: {n}/{total} documents read{postfix}, {remaining} left |{bar:20}|"
_UNKNOWN_TOTAL = "Indexing: documents read {n}{postfix}"
_INDEXING = "Indexing: {n}/{total} documents read{postfix}; building the index"
_INDEXING_UNKNOWN_TOTAL = "Indexing: documents read {n}{postfix}; building the index"
_EMBEDDING = "Embedding for semantic matching: {n}/{total} texts, {remaining} left |{bar:20}|"


class TerminalProgress:
    """A progress hook that shows builds on `stream` if it is a terminal, else nothing.

    Use it with `pipeline.reporting_progress`; nothing is shown for a build that ends
    within `delay` seconds, nor when `stream` is a file or a pipe.
    """

    def __init__(self, stream: TextIO, delay: float = 1.0) -> None:
        self._stream = stream
        self._delay = delay
        self._shown = stream.isatty()
        self._bar: tqdm[NoReturn] | None = None  # a bar over no iterable
        self._embedding: tqdm[NoReturn] | None = None

    def __call__(self, progress: BuildProgress) -> None:
        if not self._shown:
            return
        bar = self._bar
        if bar is None:
            from tqdm import tqdm

            bar = tqdm(
                total=progress.total,
                file=self._stream,
                delay=self._delay,
                leave=False,
                dynamic_ncols=True,
                bar_format=_KNOWN_TOTAL if progress.total else _UNKNOWN_TOTAL,
            )
            self._bar = bar
        passages = f"{progress.passages:,} passage{'' if progress.passages == 1 else 's'}"
        bar.set_postfix_str(passages, refresh=False)
        if progress.indexing:
            # No more documents: what is left takes no time tqdm could estimate.
            bar.bar_format = _INDEXING if progress.total else _INDEXING_UNKNOWN_TOTAL
            if bar.format_dict["elapsed"] >= self._delay:  # refresh() would skip the delay
                bar.refresh()
        else:
            bar.update(progress.documents - bar.n)

    def embedding(self, done: int, total: int) -> None:
        """Show how a first embedding of the texts goes (semantic matching's progress hook)."""
        if not self._shown:
            return
        if self._embedding is None:
            from tqdm import tqdm

            self._embedding = tqdm(
                total=total,
                file=self._stream,
                delay=self._delay,
                leave=False,
                dynamic_ncols=True,
                bar_format=_EMBEDDING,
            )
        self._embedding.update(done - self._embedding.n)
        if done >= total:
            self._embedding.close()
            self._embedding = None

    def close(self) -> None:
        """Clear the progress lines, if any was shown."""
        for bar in (self._bar, self._embedding):
            if bar is not None:
                bar.close()
        self._bar = self._embedding = None

    def __enter__(self) -> TerminalProgress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
