"""The BM25 index over passages: build once, then search(query, k) -> list[Hit].

`Index.search` is plain BM25 (with the headings and the title field): what a question is
turned into, how candidates are picked and when the articles cover a question are decided
above it, in retrieval.py and scope.py.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from psoasbot._ranking import top_k
from psoasbot.analysis import Analyzer, StemmerName
from psoasbot.chunking import MAX_WORDS, MIN_WORDS
from psoasbot.errors import CorpusError, EngineError, QueryError
from psoasbot.models import Hit, Passage

if TYPE_CHECKING:
    import numpy as np

    from psoasbot._bm25s_engine import BM25SEngine

EngineName = Literal["rank-bm25", "bm25s"]
ENGINES: tuple[EngineName, ...] = ("rank-bm25", "bm25s")
DEFAULT_K = 3
_TERMS_CACHE_SIZE = 4096
T = TypeVar("T")
# Text -> its index terms (str) or term ids (int), as an engine wants them.
TermsOf = Callable[[str], list[T]]


@dataclass(frozen=True)
class IndexSettings:
    """Everything that decides how passages are analysed and scored.

    rank-bm25's BM25Okapi gives a negative, then floored, IDF to any term in over half
    of the passages, and on a corpus this small "psoas" is such a term. BM25Plus uses
    IDF = log((N + 1) / df), positive for every term. Its `delta` only adds idf * delta to
    every passage for every query term: the same amount for all passages, so it changes
    no ranking but lifts passages that match nothing above zero. We keep delta = 0, so a
    passage's score is 0 exactly when it shares no term with the question.

    Section headings (with their parent headings) are indexed with the passage text,
    `heading_weight` times over: a heading names what its passages answer. The article
    title is shared by every passage of the article, so counting it as text
    (`title_weight` times) lifts a whole article and muddies IDF; by default it is a
    small field of its own instead: each question term in the title adds `title_boost`
    times the most the term could add from the text. k1, b and the weights were chosen
    on the dev set; docs/quality.md has the ablation.
    """

    k1: float = 1.5
    b: float = 0.5
    heading_weight: int = 4
    title_weight: int = 0
    title_boost: float = 0.1
    stemmer: StemmerName = "snowball"
    min_words: int = MIN_WORDS
    max_words: int = MAX_WORDS

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Engine(Protocol):
    """A BM25 scorer over a fixed list of term lists (one per passage)."""

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        """Return each passage's summed BM25 score for `terms` (0 where none occurs)."""
        ...

    def idf(self, term: str) -> float:
        """Return the term's IDF, 0.0 for a term no passage has."""
        ...


class RankBM25Engine:
    """BM25 (BM25Plus IDF, delta 0) on rank-bm25: pure Python, fine for small corpora.

    `BM25Plus.get_scores` walks every passage in Python for each query term, and a bot
    sees the same few hundred terms again and again. So each term's score vector, as
    rank-bm25 computes it, is kept (up to `VECTOR_CACHE_BYTES`, then the cache starts
    again) and a query's scores are their sum, added in query order as `get_scores` adds
    them: bit for bit the same scores. A term no passage has adds 0 and is skipped.
    """

    VECTOR_CACHE_BYTES = 64 << 20

    def __init__(self, corpus: Iterable[list[str]], k1: float, b: float) -> None:
        from rank_bm25 import BM25Plus

        self._bm25 = BM25Plus(corpus, k1=k1, b=b, delta=0.0)
        self._vectors: dict[str, np.ndarray] = {}

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        import numpy as np

        total = np.zeros(self._bm25.corpus_size)
        idf = self._bm25.idf
        for term in dict.fromkeys(terms):
            if term in idf:
                total += self._vector(term)
        return total

    def _vector(self, term: str) -> np.ndarray:
        vector = self._vectors.get(term)
        if vector is None:
            vector = self._bm25.get_scores([term])
            vector.flags.writeable = False
            if (len(self._vectors) + 1) * vector.nbytes > self.VECTOR_CACHE_BYTES:
                self._vectors = {}  # a new dict: a thread reading the old one is unharmed
            self._vectors[term] = vector
        return vector

    def idf(self, term: str) -> float:
        return float(self._bm25.idf.get(term, 0.0))

    def __getstate__(self) -> dict[str, object]:
        # The index cache stores the engine; the vectors are quick to make again.
        return {**self.__dict__, "_vectors": {}}


def make_engine(
    name: str,
    passage_terms: Callable[[TermsOf[Any]], Iterable[list[Any]]],
    analyzer: Analyzer,
    settings: IndexSettings,
) -> Engine:
    """Build the named engine over every passage's index terms.

    Each engine reads the passages in the form it builds from fastest: `passage_terms`
    is called once with a function from text to terms (rank-bm25) or to term ids (bm25s,
    numbered as they come: at a million passages that saves a fifth of the build), and
    streams one list a passage.

    Raises:
        EngineError: the engine is unknown or its extra is not installed.
    """
    if name == "rank-bm25":
        return RankBM25Engine(passage_terms(analyzer.terms), settings.k1, settings.b)
    if name == "bm25s":
        engine = _bm25s_engine_class()
        vocabulary = engine.new_vocabulary()
        ids = passage_terms(analyzer.term_ids(vocabulary))
        return engine(ids, vocabulary, settings.k1, settings.b)
    raise EngineError(f"unknown engine {name!r}; choose one of: {', '.join(ENGINES)}")


def _bm25s_engine_class() -> type[BM25SEngine]:
    try:
        from psoasbot._bm25s_engine import BM25SEngine
    except ImportError as exc:
        from psoasbot._extras import install_command

        raise EngineError(
            f"the bm25s engine needs the 'fast' extra; install it with: {install_command('fast')}"
        ) from exc
    return BM25SEngine


class Index:
    """Passages and a BM25 engine over their text, section headings and title."""

    def __init__(
        self,
        passages: Iterable[Passage],
        settings: IndexSettings | None = None,
        engine: str = "rank-bm25",
    ) -> None:
        self.settings = settings or IndexSettings()
        self.engine_name = engine
        self.analyzer = Analyzer(self.settings.stemmer)
        self.passages: list[Passage] = []
        self._terms_cache: dict[Passage, frozenset[str]] = {}
        # Each passage's article title, as an index into `titles` (one entry per title).
        self.titles: list[frozenset[str]] = []
        self._title_of = array("i")
        self._title_postings: dict[str, array[int]] = {}  # term -> ids of titles with it
        self.engine = make_engine(
            engine,
            lambda terms_of: self._index_terms(passages, terms_of),
            self.analyzer,
            self.settings,
        )
        if not self.passages:
            raise CorpusError("there are no passages to index; give it at least one passage")

    def _index_terms(self, passages: Iterable[Passage], terms_of: TermsOf[T]) -> Iterator[list[T]]:
        """Stream each passage's terms (or term ids), keeping the passage: title and
        headings count too."""
        s = self.settings
        title_ids: dict[str, tuple[int, list[T]]] = {}
        last: tuple[str, tuple[str, ...]] | None = None
        extra: list[T] = []  # the heading and title terms every passage of a section has
        for passage in passages:
            self.passages.append(passage)
            known = title_ids.get(passage.title)
            if known is None:
                terms = self.analyzer.terms(passage.title)
                indexed = terms_of(passage.title) * s.title_weight if s.title_weight else []
                known = title_ids[passage.title] = (len(self.titles), indexed)
                for term in set(terms):
                    self._title_postings.setdefault(term, array("i")).append(len(self.titles))
                self.titles.append(frozenset(terms))
            title_id, title = known
            self._title_of.append(title_id)
            where = (*passage.parents, passage.section)
            if (passage.title, where) != last:  # a section's passages come one after another
                extra = terms_of(" ".join(where)) * s.heading_weight + title
                last = (passage.title, where)
            yield terms_of(passage.text) + extra

    def __len__(self) -> int:
        return len(self.passages)

    def term_set(self, passage: Passage) -> frozenset[str]:
        """Return the terms a passage is indexed under, as a shared frozenset."""
        # Every answer asks this of its dozen candidates, mostly the same few passages:
        # remembered, up to _TERMS_CACHE_SIZE passages.
        terms = self._terms_cache.get(passage)
        if terms is None:
            if len(self._terms_cache) >= _TERMS_CACHE_SIZE:
                self._terms_cache.clear()
            text = " ".join((passage.text, *passage.parents, passage.section, passage.title))
            terms = self._terms_cache[passage] = frozenset(self.analyzer.terms(text))
        return terms

    def search(self, query: str | Mapping[str, float], k: int = DEFAULT_K) -> list[Hit]:
        """Return up to k passages by descending score; passages scoring 0 never appear.

        Args:
            query: the question's text, or a mapping from index term to weight (as made by
                query expansion).
            k: how many passages at most.

        Raises:
            QueryError: k is below 1.
        """
        check_k(k)
        weights = self.query_weights(query)
        if not weights:
            return []
        scores = self.scores(weights)
        # Stable order: score descending, then corpus position, so ties rank the same way
        # on every engine.
        order = top_k(scores, k)
        return [Hit(self.passages[i], float(scores[i]), rank) for rank, i in enumerate(order, 1)]

    def scores(self, weights: Mapping[str, float]) -> np.ndarray:
        """Return every passage's score for {term: weight}, title field included (0: no match)."""
        scores = self.weighted_scores(weights)
        if self.settings.title_boost:
            scores = self._boost_titles(scores, weights)
        return scores

    def _boost_titles(self, scores: np.ndarray, weights: Mapping[str, float]) -> np.ndarray:
        """Add the title field: each query term in a passage's article title adds
        `title_boost` times the most that term can add from the text, idf x (k1 + 1).

        A title word no passage text has counts as the rarest word (`idf_or_rarest`).
        """
        import numpy as np

        matched = [t for t in weights if t in self._title_postings]
        if not matched:
            return scores
        ceiling = self.settings.title_boost * (self.settings.k1 + 1)
        title_scores = np.zeros(len(self.titles))
        for term in matched:
            ids = np.frombuffer(self._title_postings[term], dtype=np.int32)
            title_scores[ids] += ceiling * weights[term] * self.idf_or_rarest(term)
        return scores + title_scores[np.frombuffer(self._title_of, dtype=np.int32)]

    def query_weights(self, query: str | Mapping[str, float]) -> dict[str, float]:
        """Turn a question into {term: weight}, each term once, weight 1.0 for plain text."""
        if isinstance(query, str):
            return dict.fromkeys(self.analyzer.terms(query), 1.0)
        return {t: w for t, w in query.items() if w > 0}

    def weighted_scores(self, weights: Mapping[str, float]) -> np.ndarray:
        """Sum each weight group's BM25 scores times its weight (one engine call a group)."""
        groups: dict[float, list[str]] = {}
        for term, weight in weights.items():
            groups.setdefault(weight, []).append(term)
        total: np.ndarray | None = None
        for weight, terms in groups.items():
            part = self.engine.scores(terms) * weight
            total = part if total is None else total + part
        assert total is not None
        return total

    def idf(self, term: str) -> float:
        """Return the term's IDF, 0.0 for a term no passage has."""
        return self.engine.idf(term)

    @property
    def rarest_idf(self) -> float:
        """The IDF of a term only one passage has, log((N + 1) / 1): the highest there is."""
        return math.log(len(self.passages) + 1)

    def idf_or_rarest(self, term: str) -> float:
        """Return the term's IDF, or, for a term no passage has, the IDF of the rarest term.

        Wherever a term's weight matters beyond BM25 (the title field, the share of a
        question a passage matches), a word the passages never use counts as the rarest
        word: it is the strongest sign that a question is about something else.
        """
        return self.engine.idf(term) or self.rarest_idf


def check_k(k: int) -> None:
    """Raise QueryError unless k is a whole number of at least 1."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise QueryError(f"k must be a whole number of at least 1, not {k!r}; pass k=3 for example")
