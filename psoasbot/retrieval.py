"""Question -> ranked passages: the query (analysis and lay-term expansion), candidates, diversity.

This is the one place to change how a question is matched. `Index.search` below it is
plain BM25; whether the best passages cover the question at all is decided above it, in
scope.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from psoasbot.chunking import split_sentences
from psoasbot.index import Index
from psoasbot.lexicon import default_lexicon
from psoasbot.models import Hit, Passage

# With diversity on, this many candidates per passage asked for (and at least
# MIN_CANDIDATES) are ranked, so that a passage moved down has others to take its place.
CANDIDATES_PER_PASSAGE = 4
MIN_CANDIDATES = 12
# A candidate whose terms are this much (Jaccard) those of a passage kept above it waits.
NEAR_DUPLICATE = 0.8
# A candidate that matches less than this share of its question weight outside sentences
# already shown above it waits.
MIN_NOVEL_SHARE = 0.5
# Only sentences of at least this many terms count as shown: "You can do this through
# pandiculation." and "What is pandiculation?" are not the same.
MIN_REPEAT_TERMS = 3
# Passages whose sentences are remembered for diversity, before the memory starts again.
_SENTENCE_CACHE_SIZE = 4096


@dataclass(frozen=True)
class QuerySettings:
    """How a question is matched against the passages; none of it changes the index.

    Attributes:
        expansion_weight: weight of an article term added by the lay-term lexicon (a
            question's own terms weigh 1).
        lexicon: expand the question with the lay-term lexicon (data/lexicon.tsv).
        diversity: move down a candidate that repeats a sentence (or nearly all the terms)
            of a passage ranked above it.
    """

    expansion_weight: float = 0.5
    lexicon: bool = True
    diversity: bool = True


@dataclass(frozen=True)
class Query:
    """A question as retrieval sees it.

    Attributes:
        groups: each question term -> the index terms that may match it, with their
            weights: the term itself at 1, its lexicon synonyms at the expansion weight.
        weights: each index term -> its highest weight in any group: what BM25 is asked.
    """

    groups: Mapping[str, Mapping[str, float]]
    weights: Mapping[str, float]

    @classmethod
    def from_groups(cls, groups: Mapping[str, Mapping[str, float]]) -> Query:
        """Make a query from its groups, working out the weight of each index term."""
        weights: dict[str, float] = {}
        for alternatives in groups.values():
            for term, weight in alternatives.items():
                weights[term] = max(weight, weights.get(term, 0.0))
        return cls(groups, weights)


class _Sentences(NamedTuple):
    """A passage's terms as diversity compares them."""

    heading: frozenset[str]  # of its section heading and the headings above it
    sentences: list[tuple[str, ...]]  # of each sentence, in order
    everything: frozenset[str]  # all of the above


class Retriever:
    """Turns questions into queries and queries into ranked passages, over one index."""

    def __init__(self, index: Index, settings: QuerySettings | None = None) -> None:
        self.index = index
        self.settings = settings or QuerySettings()
        self._lexicon = default_lexicon(index.settings.stemmer) if self.settings.lexicon else None
        self._sentence_cache: dict[str, _Sentences] = {}

    def query(self, question: str) -> Query:
        """Analyse a question, each term matching itself, and expand it with the lexicon."""
        terms = self.index.analyzer.terms(question)
        groups = {t: {t: 1.0} for t in terms}
        if self._lexicon is not None:
            weight = self.settings.expansion_weight
            for term, expansion in self._lexicon.expand(terms).items():
                for extra in expansion:
                    groups[term].setdefault(extra, weight)
        return Query.from_groups(groups)

    def retrieve(self, query: Query, k: int) -> list[Hit]:
        """Return up to k passages, best first, ranked 1 to k.

        Raises:
            QueryError: k is below 1.
        """
        diversity = self.settings.diversity
        pool = max(k * CANDIDATES_PER_PASSAGE, MIN_CANDIDATES) if diversity else k
        hits = self.index.search(query.weights, pool)
        if diversity:
            hits = self._diversify(hits, query.weights, k)
        return [Hit(h.passage, h.score, rank) for rank, h in enumerate(hits[:k], 1)]

    def _diversify(self, hits: list[Hit], weights: Mapping[str, float], k: int) -> list[Hit]:
        """Move down a passage that mostly repeats a better-ranked one.

        The three stretches of one article each end with "Hold for 30 seconds and switch
        sides": asked how long to hold a stretch, a passage that matches the question
        mainly through a sentence already shown higher up (by IDF-weighted share of the
        question's terms) waits until the passages that say something new, and so does
        one whose terms are nearly all those of a passage above it. Stops once k passages
        are kept.
        """
        kept: list[Hit] = []
        later: list[Hit] = []
        shown: set[tuple[str, ...]] = set()
        kept_terms: list[frozenset[str]] = []
        idf = {t: w * self.index.idf(t) for t, w in weights.items()}
        for n, hit in enumerate(hits):
            if len(kept) == k:
                return kept + later + hits[n:]
            heading, sentences, everything = self._sentences(hit.passage)
            matched = sum(v for t, v in idf.items() if t in everything)
            novel = matched
            if shown:
                new = heading.union(*(s for s in sentences if s not in shown))
                novel = sum(v for t, v in idf.items() if t in new)
            terms = self.index.term_set(hit.passage)
            repeats = novel < matched * MIN_NOVEL_SHARE
            if repeats or any(_jaccard(terms, other) >= NEAR_DUPLICATE for other in kept_terms):
                later.append(hit)
                continue
            kept.append(hit)
            kept_terms.append(terms)
            shown.update(s for s in sentences if len(s) >= MIN_REPEAT_TERMS)
        return kept + later

    def _sentences(self, passage: Passage) -> _Sentences:
        """Return a passage's heading terms, each sentence's terms and all of them (cached)."""
        cached = self._sentence_cache.get(passage.id)
        if cached is None:
            analyzer = self.index.analyzer
            heading = frozenset(analyzer.terms(" ".join((*passage.parents, passage.section))))
            sentences = [
                tuple(analyzer.terms(s))
                for line in passage.text.split("\n")
                for s in split_sentences(line)
            ]
            cached = _Sentences(heading, sentences, heading.union(*sentences))
            if len(self._sentence_cache) > _SENTENCE_CACHE_SIZE:
                self._sentence_cache.clear()
            self._sentence_cache[passage.id] = cached
        return cached


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared) if a or b else 0.0
