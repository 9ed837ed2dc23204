"""BM25 on bm25s (a term-major sparse matrix of precomputed scores): for large corpora.

Set to the same variant as the rank-bm25 engine (BM25+ with IDF log((N + 1) / df) and
delta 0) and computed with the same floating-point operations in the same order, so both
engines give bit-identical scores and therefore the same ranking.

`bm25s.BM25.index` needs the whole corpus as one list of token lists and walks it several
times, converting it to a second list of token ids on the way: at a million passages that
is two full copies of the tokens (several GB of Python objects). So the matrix is built
here in one streaming pass into compact arrays, then handed to a `bm25s.BM25`, which does
the scoring, exactly as `bm25s.BM25.load` fills one from disk.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Mapping, Sequence

import bm25s
import numpy as np

# Terms are counted, and (passage, term) pairs scored, this many at a time: it bounds the
# temporary arrays (about 100 MB).
_BLOCK = 1 << 22


class _BM25(bm25s.BM25):
    """bm25s's BM25 with a faster sum of the query terms' scores."""

    @staticmethod
    def _compute_relevance_from_scores(
        data: np.ndarray,
        indptr: np.ndarray,
        indices: np.ndarray,
        num_docs: int,
        query_tokens_ids: np.ndarray,
        dtype: np.dtype,
    ) -> np.ndarray:
        # One weighted bincount over the query terms' postings, in query order: the same
        # sums, in the same order, as bm25s's per-term np.add.at, about three times faster.
        spans = list(zip(indptr[query_tokens_ids], indptr[query_tokens_ids + 1], strict=True))
        if not spans:
            return np.zeros(num_docs, dtype=dtype)
        rows = np.concatenate([indices[s:e] for s, e in spans])
        values = np.concatenate([data[s:e] for s, e in spans])
        return np.bincount(rows, weights=values, minlength=num_docs).astype(dtype, copy=False)


class _Vocabulary(dict[str, int]):
    """Term -> id, a new term getting the next id. Ids start at 1: 0 marks a stopword."""

    def __missing__(self, term: str) -> int:
        self[term] = term_id = len(self) + 1
        return term_id


class _Pairs:
    """Count the terms of each passage: (passage, term id, count) for every distinct term.

    Term ids are only concatenated as they come (the cheapest thing Python can do with
    them), then counted a block of _BLOCK terms at a time with numpy, into compact arrays.
    """

    def __init__(self) -> None:
        self._ids: list[int] = []
        self.lengths = array("q")  # terms per passage
        self._first = 0  # the first passage of the current block
        self._blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, ids: list[int]) -> None:
        self._ids += ids
        self.lengths.append(len(ids))
        if len(self._ids) >= _BLOCK:
            self._count()

    def _count(self) -> None:
        ids = np.array(self._ids, dtype=np.int64)
        self._ids.clear()
        ids -= 1  # the vocabulary counts from 1
        lengths = np.array(self.lengths[self._first :], dtype=np.int64)
        keys = np.repeat(np.arange(self._first, len(self.lengths), dtype=np.int64), lengths)
        self._first = len(self.lengths)
        keys <<= 32
        keys |= ids
        del ids
        keys, counts = np.unique(keys, return_counts=True)  # by passage, then term id
        self._blocks.append(
            ((keys >> 32).astype(np.int32), keys.astype(np.int32), counts.astype(np.int32))
        )

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return the passage, the term id and the count of every pair, passage by passage."""
        self._count()
        docs, ids, counts = zip(*self._blocks, strict=True)
        self._blocks.clear()
        return np.concatenate(docs), np.concatenate(ids), np.concatenate(counts)


class BM25SEngine:
    """BM25 scores from a bm25s sparse index, the same scores as the rank-bm25 engine.

    Built from each passage's term ids, numbered by a vocabulary from `new_vocabulary()` as
    the passages are read (see `Analyzer.term_ids`): at a million passages, mapping each
    word straight to its term's id saves a fifth of the build. `corpus` is read once.
    """

    def __init__(
        self, corpus: Iterable[list[int]], vocabulary: Mapping[str, int], k1: float, b: float
    ) -> None:
        delta = 0.0
        pairs = _Pairs()
        for ids_ in corpus:
            pairs.add(ids_)
        vocab = {term: term_id - 1 for term, term_id in vocabulary.items()}
        doc_of, ids, counts = pairs.arrays()
        lengths = pairs.lengths
        del pairs
        n = len(lengths)
        doc_len = np.frombuffer(lengths, dtype=np.int64)
        # As rank-bm25 does: avgdl from Python ints, and each term's IDF with math.log.
        avgdl = int(doc_len.sum()) / n if n else 0.0
        df = np.bincount(ids, minlength=len(vocab))
        self._idf = np.array([math.log((n + 1) / d) for d in df.tolist()], dtype=np.float64)
        scores = _pair_scores(ids, counts, doc_of, doc_len, self._idf, avgdl, k1, b, delta)
        del counts
        # Term-major order (bm25s's CSC layout), each term's passages ascending: sorting
        # (term, position) keys is a stable sort by term, faster than argsort(stable).
        order = ids.astype(np.int64)
        del ids
        order <<= 32
        order |= np.arange(len(order), dtype=np.int64)
        order.sort()
        order &= 0xFFFFFFFF
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        data = scores[order]
        del scores
        indices = doc_of[order]
        del doc_of, order
        bm25 = _BM25(
            k1=k1,
            b=b,
            delta=delta,
            method="bm25+",
            idf_method="bm25+",
            dtype="float64",
            int_dtype="int32",
        )
        bm25.scores = {
            "data": data,
            "indices": indices,
            "indptr": indptr,
            "num_docs": n,
        }
        bm25.vocab_dict = vocab
        # BM25+ adds idf * delta for every absent query term; with delta 0 that is nothing.
        bm25.nonoccurrence_array = None
        self._bm25 = bm25
        self._vocab: dict[str, int] = bm25.vocab_dict

    @staticmethod
    def new_vocabulary() -> dict[str, int]:
        """Return an empty vocabulary for the constructor: it numbers new terms from 1."""
        return _Vocabulary()

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        vocab = self._vocab
        ids = [vocab[t] for t in dict.fromkeys(terms) if t in vocab]
        if not ids:
            return np.zeros(self._bm25.scores["num_docs"], dtype=np.float64)
        return self._bm25.get_scores_from_ids(ids)

    def idf(self, term: str) -> float:
        i = self._vocab.get(term)
        return 0.0 if i is None else float(self._idf[i])


def _pair_scores(
    ids: np.ndarray,
    counts: np.ndarray,
    doc_of: np.ndarray,
    doc_len: np.ndarray,
    idf: np.ndarray,
    avgdl: float,
    k1: float,
    b: float,
    delta: float,
) -> np.ndarray:
    """Score every (passage, term) pair with rank-bm25's BM25Plus expression, op for op."""
    scores = np.empty(len(ids), dtype=np.float64)
    for start in range(0, len(ids), _BLOCK):
        part = slice(start, start + _BLOCK)
        q_freq = counts[part]
        doc_len_ = doc_len[doc_of[part]]
        # rank_bm25.BM25Plus.get_scores, evaluated once per pair here instead of per query.
        scores[part] = idf[ids[part]] * (
            delta + (q_freq * (k1 + 1)) / (k1 * (1 - b + b * doc_len_ / avgdl) + q_freq)
        )
    return scores
