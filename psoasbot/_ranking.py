"""Pick the k best of a score per passage, fast at a million passages."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

# Scores are cut into blocks of this many to find a lower bound of the k-th best score.
BLOCK = 1024


def top_k(scores: np.ndarray, k: int) -> list[int]:
    """Return the positions of the (up to) k best positive scores.

    Ordered by score, best first, then by position, so that equal scores rank the same
    way on every engine and every run.

    np.argpartition over a million scores takes about 10 ms. Instead: the k-th largest of
    the block maxima is a lower bound of the k-th best score (each of those k blocks holds
    a score at least that high), so only scores above it (usually a handful) are sorted.
    """
    import numpy as np

    blocks = len(scores) // BLOCK
    floor = 0.0
    if blocks > k:
        maxima = scores[: blocks * BLOCK].reshape(blocks, BLOCK).max(axis=1)
        floor = float(np.partition(maxima, blocks - k)[blocks - k])
    if floor > 0:
        candidates = np.flatnonzero(scores >= floor)
    else:  # also when a score is NaN: NaN is never > 0, so never a candidate
        candidates = np.flatnonzero(scores > 0)
    values = scores[candidates]
    best = np.lexsort((candidates, -values))[:k]
    return candidates[best].tolist()
