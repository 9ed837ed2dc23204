"""The BM25 index over passages: build once, then search(query, k) -> list[Hit]."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from psoasbot.analysis import Analyzer, StemmerName
from psoasbot.errors import EngineError, QueryError
from psoasbot.models import Hit, Passage

if TYPE_CHECKING:
    import numpy as np

EngineName = Literal["rank-bm25", "bm25s"]
ENGINES: tuple[EngineName, ...] = ("rank-bm25", "bm25s")
DEFAULT_K = 3


@dataclass(frozen=True)
class IndexSettings:
    """Everything that decides how passages are analysed and scored.

    rank-bm25's BM25Okapi gives a negative, then floored, IDF to any term in over half
    of the passages, and on a corpus this small "psoas" is such a term. BM25Plus uses
    IDF = log((N + 1) / df), positive for every term. Its `delta` only adds idf * delta to
    every passage for every query term: the same amount for all passages, so it changes
    no ranking but lifts passages that match nothing above zero. We keep delta = 0, so a
    passage's score is 0 exactly when it shares no term with the question.
    """

    k1: float = 1.2
    b: float = 0.75
    title_weight: int = 1
    heading_weight: int = 2
    stemmer: StemmerName = "snowball"

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
    """BM25 (BM25Plus IDF, delta 0) on rank-bm25: pure Python, fine for small corpora."""

    def __init__(self, corpus: Iterable[list[str]], settings: IndexSettings) -> None:
        from rank_bm25 import BM25Plus

        self._bm25 = BM25Plus(corpus, k1=settings.k1, b=settings.b, delta=0.0)

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        return self._bm25.get_scores(list(dict.fromkeys(terms)))

    def idf(self, term: str) -> float:
        return float(self._bm25.idf.get(term, 0.0))


def make_engine(name: str, corpus: Iterable[list[str]], settings: IndexSettings) -> Engine:
    """Build the named engine over the passages' index terms."""
    if name == "rank-bm25":
        return RankBM25Engine(corpus, settings)
    if name == "bm25s":
        try:
            from psoasbot._bm25s_engine import BM25SEngine
        except ImportError as exc:
            raise EngineError(
                "the bm25s engine needs the 'fast' extra; run: pip install 'psoasbot[fast]'"
            ) from exc
        return BM25SEngine(corpus, settings)
    raise EngineError(f"unknown engine {name!r}; choose one of: {', '.join(ENGINES)}")


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
        self.engine = make_engine(engine, self._index_terms(passages), self.settings)
        if not self.passages:
            raise QueryError("there are no passages to index; the corpus has no text")

    def _index_terms(self, passages: Iterable[Passage]) -> Iterator[list[str]]:
        """Stream each passage's terms, keeping the passage: title and headings count too."""
        s = self.settings
        terms_of = self.analyzer.terms
        title_cache: dict[str, list[str]] = {}
        for passage in passages:
            self.passages.append(passage)
            title = title_cache.get(passage.title)
            if title is None:
                title = title_cache.setdefault(passage.title, terms_of(passage.title))
            headings = terms_of(" ".join((*passage.parents, passage.section)))
            yield terms_of(passage.text) + headings * s.heading_weight + title * s.title_weight

    def __len__(self) -> int:
        return len(self.passages)

    def passage_terms(self, passage: Passage) -> set[str]:
        """Return the set of terms a passage is indexed under."""
        return set(
            self.analyzer.terms(
                " ".join((passage.text, *passage.parents, passage.section, passage.title))
            )
        )

    def search(self, query: str | Mapping[str, float], k: int = DEFAULT_K) -> list[Hit]:
        """Return up to k passages by descending score; passages scoring 0 never appear.

        Args:
            query: the question's text, or a mapping from index term to weight (as made by
                query expansion).
            k: how many passages at most.

        Raises:
            QueryError: k is below 1.
        """
        import numpy as np

        check_k(k)
        weights = self.query_weights(query)
        if not weights:
            return []
        scores = self.weighted_scores(weights)
        n = len(scores)
        top = np.argpartition(-scores, k - 1)[:k] if k < n else np.arange(n)
        # Stable order: score descending, then corpus position, so ties rank the same way
        # on every engine.
        order = sorted((i for i in top.tolist() if scores[i] > 0), key=lambda i: (-scores[i], i))
        return [Hit(self.passages[i], float(scores[i]), rank) for rank, i in enumerate(order, 1)]

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
        return self.engine.idf(term)


def check_k(k: int) -> None:
    """Raise QueryError unless k is a whole number of at least 1."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise QueryError(f"k must be a whole number of at least 1, not {k!r}; pass k=3 for example")
