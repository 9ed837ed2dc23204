"""BM25 on bm25s (sparse matrices, numpy): the engine for large corpora.

Set to the same variant as the rank-bm25 engine: BM25+ with IDF log((N + 1) / df) and
delta 0, so both engines give the same scores and the same ranking.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import bm25s

if TYPE_CHECKING:
    import numpy as np

    from psoasbot.index import IndexSettings


class BM25SEngine:
    """BM25 scores from a bm25s sparse index."""

    def __init__(self, corpus: Iterable[list[str]], settings: IndexSettings) -> None:
        self._bm25 = bm25s.BM25(
            k1=settings.k1, b=settings.b, delta=0.0, method="bm25+", idf_method="bm25+"
        )
        self._bm25.index(list(corpus), show_progress=False)
        self._vocab: dict[str, int] = self._bm25.vocab_dict
        self._n = int(self._bm25.scores["num_docs"])
        indptr = self._bm25.scores["indptr"]
        self._df = {
            t: int(indptr[i + 1] - indptr[i]) for t, i in self._vocab.items() if i + 1 < len(indptr)
        }

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        import numpy as np

        ids = [self._vocab[t] for t in dict.fromkeys(terms) if t in self._vocab]
        if not ids:
            return np.zeros(self._n, dtype=np.float64)
        return self._bm25.get_scores_from_ids(ids).astype(np.float64)

    def idf(self, term: str) -> float:
        import math

        df = self._df.get(term, 0)
        return math.log((self._n + 1) / df) if df else 0.0
