"""Question -> ranked passages: the query (query.py), candidates, the overview, diversity.

This is the one place to change how a question is matched: query.py reads the message,
this module ranks the passages for it. `Index.search` below it is plain BM25; whether the
best passages cover the question at all is decided above it, in scope.py.

With semantic matching on (the `[semantic]` extra, semantic.py), each passage's BM25
score (after the overview) and its similarity to the question are fused: a weighted sum
of the two, each scaled to 0-1 over the corpus. A passage that shares no word with the
question can then rank by meaning alone. Diversity works on the fused ranking.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

from psoasbot._ranking import top_k
from psoasbot.chunking import split_sentences
from psoasbot.index import Index
from psoasbot.lexicon import Lexicon
from psoasbot.models import Hit, Passage
from psoasbot.query import Query, QueryBuilder, QuerySettings
from psoasbot.vocabulary import Vocabulary

if TYPE_CHECKING:
    import numpy as np

    from psoasbot.semantic import SemanticIndex

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
# A broad question ("what is the psoas?") is answered from the sections that introduce the
# subject: a passage gains this share of the best score times the share of its heading
# made of the subject's words and these (after analysis).
OVERVIEW_BOOST = 1.0
OVERVIEW_WORDS = "what understanding anatomy function introduction overview basics role about"
# A broad question looks this far down the BM25 ranking for an introduction.
OVERVIEW_CANDIDATES = 50


class _Sentences(NamedTuple):
    """A passage's terms as diversity compares them."""

    heading: frozenset[str]  # of its section heading and the headings above it
    sentences: list[tuple[str, ...]]  # of each sentence, in order
    everything: frozenset[str]  # all of the above


class Retriever:
    """Turns questions into queries and queries into ranked passages, over one index.

    With a `semantic` index (the model and a vector per passage), questions are matched
    by meaning as well as by words.
    """

    def __init__(
        self,
        index: Index,
        settings: QuerySettings | None = None,
        vocabulary: Vocabulary | None = None,
        lexicon: Lexicon | None = None,
        semantic: SemanticIndex | None = None,
    ) -> None:
        self.index = index
        self.vocabulary = vocabulary or Vocabulary.from_index(index)
        self.builder = QueryBuilder(index, self.vocabulary, settings, lexicon)
        self.settings = self.builder.settings
        self.semantic = semantic
        self._overview_terms = self.builder.topic | set(index.analyzer.terms(OVERVIEW_WORDS))
        self._sentence_cache: dict[str, _Sentences] = {}

    def query(self, question: str) -> Query:
        """Read a question (query.py): its sentences, corrections and lay phrases.

        With semantic matching on, the query also holds each passage's similarity to it.
        """
        query = self.builder.build(question)
        if self.semantic is not None:
            vector = self.semantic.embed(question)
            similarities = self.semantic.similarities(vector)
            query = dataclasses.replace(query, vector=vector, similarities=similarities)
        return query

    def retrieve(self, query: Query, k: int) -> list[Hit]:
        """Return up to k passages, best first, ranked 1 to k.

        Raises:
            QueryError: k is below 1.
        """
        diversity = self.settings.diversity
        pool = max(k * CANDIDATES_PER_PASSAGE, MIN_CANDIDATES) if diversity else k
        if query.similarities is not None:
            hits = self._fused(query, query.similarities, pool)
        elif query.broad and self.settings.overview:
            hits = self._overview(self.index.search(query.weights, max(pool, OVERVIEW_CANDIDATES)))
        else:
            hits = self.index.search(query.weights, pool)
        if diversity:
            hits = self._diversify(hits, query.weights, k)
        return [Hit(h.passage, h.score, rank) for rank, h in enumerate(hits[:k], 1)]

    def _overview(self, hits: list[Hit]) -> list[Hit]:
        """Lift the passages whose headings introduce the subject, for a broad question.

        "What Is the Psoas Muscle?" and "Understanding the Psoas Muscle › Anatomy and
        Function" are headings made only of the subject's words and words that introduce;
        "Standing Psoas Stretch" is not, though it says "psoas" as often.
        """
        if not hits:
            return hits
        top = hits[0].score
        rescored = [
            Hit(hit.passage, hit.score + OVERVIEW_BOOST * top * self._introduces(hit.passage), 0)
            for hit in hits
        ]
        # Stable: equal scores keep the BM25 order.
        return sorted(rescored, key=lambda h: -h.score)

    def _introduces(self, passage: Passage) -> float:
        """Return the share of a passage's heading terms that introduce the subject."""
        heading = self._sentences(passage).heading
        return len(heading & self._overview_terms) / len(heading) if heading else 0.0

    def _fused(self, query: Query, similarities: np.ndarray, pool: int) -> list[Hit]:
        """Rank by BM25 and similarity together: the best `pool` passages, best first.

        BM25 (after the overview, for a broad question) is divided by its best score, so
        a passage that shares no word still adds nothing; similarity is scaled from the
        corpus's least to its most similar passage. The weighted sum beat reciprocal-rank
        fusion under cross-validation (docs/quality.md).
        """
        import numpy as np

        passages = self.index.passages
        lexical = np.zeros(len(passages))
        if query.weights:
            lexical = self.index.scores(query.weights)
        if query.broad and self.settings.overview:
            order = top_k(lexical, OVERVIEW_CANDIDATES)
            if order:
                lexical = lexical.copy()
                top = float(lexical[order[0]])
                for i in order:
                    lexical[i] += OVERVIEW_BOOST * top * self._introduces(passages[i])
        best = float(lexical.max())
        if best > 0:
            lexical = lexical / best
        low, high = float(similarities.min()), float(similarities.max())
        meaning = (similarities - low) / (high - low) if high > low else np.ones(len(passages))
        weight = self.settings.semantic_weight
        fused = (1 - weight) * lexical + weight * meaning
        return [Hit(passages[i], float(fused[i]), 0) for i in top_k(fused, pool)]

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
