"""Question -> Answer: retrieval, citations and the disclaimer that every answer carries."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from psoasbot.cache import load_or_build
from psoasbot.chunking import chunk_all, split_sentences
from psoasbot.corpus import builtin_corpus_path, iter_documents
from psoasbot.errors import QueryError
from psoasbot.index import DEFAULT_K, Index, IndexSettings, check_k
from psoasbot.lexicon import default_lexicon
from psoasbot.models import Answer, Document, Hit, Passage, Source
from psoasbot.triage import Finding, find_red_flags

DISCLAIMER = (
    "This is information from the listed articles, for education only. It is not medical "
    "advice and is no substitute for examination, diagnosis or treatment by a qualified "
    "health professional. If your symptoms are severe, sudden or getting worse, get urgent "
    "medical care."
)

# Retrieval reads this much of a question; a longer one is answered from its start.
MAX_QUESTION_CHARS = 1000
LONG_QUESTION_NOTICE = (
    f"Your message is long, so only its first {MAX_QUESTION_CHARS:,} characters were used "
    "to find passages."
)
NO_MATCH_NOTICE = "The articles don't cover this, so there is no passage to show."
URGENT_NOTICE = (
    "Get medical help now. Your message mentions {reasons}. With back or hip pain this can "
    "be a sign of a serious problem that needs urgent care: call your local emergency "
    "number (such as 999, 112 or 911) or go to the nearest emergency department now. "
    "Don't try stretches or exercises until a clinician has seen you."
)


@dataclass(frozen=True)
class QuerySettings:
    """How a question becomes a ranking and an answer; none of it changes the index.

    Attributes:
        expansion_weight: weight of an article term added by the lay-term lexicon (a
            question's own terms weigh 1).
        min_confidence: below this share of the question's information matched by the
            best passage, the answer is `no_match` (calibrated on the dev set, see
            docs/quality.md).
        generic_terms: words too general to show that the articles cover a question; a
            question matched only through them is not covered.
        diversity: drop a candidate that repeats a sentence (or nearly all the terms) of a
            passage ranked above it.
        feedback_terms: pseudo-relevance feedback; this many terms from the top passages
            are added at `feedback_weight` (0 turns it off).
    """

    expansion_weight: float = 0.5
    min_confidence: float = 0.375
    generic_terms: tuple[str, ...] = ("psoas", "back", "pain", "muscle", "hurt", "help")
    diversity: bool = True
    feedback_terms: int = 0
    feedback_weight: float = 0.3
    lexicon: bool = True
    sentence_weight: float = 0.0


# A passage's heading terms, each sentence's terms, and all of them.
_SentenceTerms = tuple[frozenset[str], list[tuple[str, ...]], frozenset[str]]


@dataclass(frozen=True)
class _Built:
    index: Index
    sources: tuple[Source, ...]


class Assistant:
    """Answers questions from a corpus with cited passages and the disclaimer.

    Build it with `Assistant.from_corpus()`; the index is built once and reused by every
    `ask`.
    """

    def __init__(
        self,
        index: Index,
        sources: Iterable[Source] = (),
        query_settings: QuerySettings | None = None,
    ) -> None:
        self.index = index
        self._sources = tuple(sources)
        self.query_settings = query_settings or QuerySettings()
        self._lexicon = (
            default_lexicon(index.settings.stemmer) if self.query_settings.lexicon else None
        )
        self._sentence_cache: dict[str, _SentenceTerms] = {}
        self._generic = frozenset(index.analyzer.terms(" ".join(self.query_settings.generic_terms)))

    @classmethod
    def from_corpus(
        cls,
        path: str | Path | None = None,
        *,
        engine: str = "rank-bm25",
        settings: IndexSettings | None = None,
        query_settings: QuerySettings | None = None,
        cache_dir: str | Path | None = None,
    ) -> Assistant:
        """Build an assistant from a folder of documents (the built-in corpus by default).

        The index is built once per process for each folder, engine and settings. With a
        `cache_dir` it is also kept there on disk, and later processes load it instead of
        building it while the corpus, the settings and psoasbot stay the same.

        Raises:
            CorpusError: the folder or one of its documents cannot be read.
            EngineError: the engine is unknown or its extra is not installed.
        """
        folder = Path(path).resolve() if path is not None else builtin_corpus_path()
        cache = Path(cache_dir) if cache_dir is not None else None
        built = _build(folder, engine, settings or IndexSettings(), cache)
        return cls(built.index, built.sources, query_settings)

    @classmethod
    def from_documents(
        cls,
        docs: Iterable[Document],
        *,
        engine: str = "rank-bm25",
        settings: IndexSettings | None = None,
        query_settings: QuerySettings | None = None,
    ) -> Assistant:
        """Build an assistant from documents already in memory."""
        index, sources = _index_documents(docs, engine, settings or IndexSettings())
        return cls(index, sources, query_settings)

    def sources(self) -> tuple[Source, ...]:
        """Return the articles of the corpus, in corpus order."""
        return self._sources

    def ask(self, question: str, k: int = DEFAULT_K) -> Answer:
        """Answer a question with up to k cited passages, always with the disclaimer.

        Red-flag triage runs first: a message describing emergency warning signs gets
        `urgent=True` and a notice to get emergency care, shown before any passage. A
        question the articles don't cover gets `status="no_match"`, no passages and a
        notice that says so.

        Raises:
            QueryError: the question is empty or blank, or k is below 1.
        """
        check_k(k)
        if not isinstance(question, str) or not question.strip():
            raise QueryError("the question is empty; ask something like 'why is my psoas tight?'")
        question = question.strip()
        findings = find_red_flags(question)
        notices: list[str] = []
        if findings:
            reasons = _reasons(findings)
            notices.append(URGENT_NOTICE.format(reasons=reasons))
        query = question
        if len(query) > MAX_QUESTION_CHARS:
            query = query[:MAX_QUESTION_CHARS]
            notices.append(LONG_QUESTION_NOTICE)

        groups = self.query_groups(query)
        hits = self._retrieve(groups, k)
        confidence = self.confidence(groups, hits[0].passage) if hits else 0.0
        if not hits or confidence < self.query_settings.min_confidence:
            return Answer(
                question=question,
                status="no_match",
                passages=(),
                disclaimer=DISCLAIMER,
                urgent=bool(findings),
                notice="\n\n".join([*notices, self._no_match_notice()]),
                confidence=confidence,
            )
        return Answer(
            question=question,
            status="answered",
            passages=tuple(hits),
            disclaimer=DISCLAIMER,
            urgent=bool(findings),
            notice="\n\n".join(notices) or None,
            confidence=confidence,
        )

    def query_groups(self, question: str) -> dict[str, dict[str, float]]:
        """Map each question term to the terms that may match it, with their weights.

        A term matches itself at weight 1; the lay-term lexicon adds the articles' words
        for it at the expansion weight.
        """
        terms = self.index.analyzer.terms(question)
        groups = {t: {t: 1.0} for t in terms}
        if self._lexicon is not None:
            weight = self.query_settings.expansion_weight
            for term, expansion in self._lexicon.expand(terms).items():
                for extra in expansion:
                    groups[term].setdefault(extra, weight)
        return groups

    def _retrieve(self, groups: dict[str, dict[str, float]], k: int) -> list[Hit]:
        weights: dict[str, float] = {}
        for alternatives in groups.values():
            for term, weight in alternatives.items():
                weights[term] = max(weight, weights.get(term, 0.0))
        qs = self.query_settings
        pool = max(k * 4, 12) if qs.diversity else k
        hits = self.index.search(weights, pool)
        if qs.feedback_terms and hits:
            for term in self._feedback(hits[:3], weights):
                weights[term] = qs.feedback_weight
            hits = self.index.search(weights, pool)
        if qs.sentence_weight and hits:
            hits = self._rerank(hits, groups)
        if qs.diversity:
            hits = self._diversify(hits, weights, k)
        return [Hit(h.passage, h.score, rank) for rank, h in enumerate(hits[:k], 1)]

    def _rerank(self, hits: list[Hit], groups: dict[str, dict[str, float]]) -> list[Hit]:
        """Favour passages where the question's words meet in one sentence.

        The BM25 score (relative to the best) is added to `sentence_weight` times the
        share of the question's information found in the passage's best sentence (with
        its section heading), so a passage that answers in one sentence beats one that
        mentions the same words far apart.
        """
        top = hits[0].score or 1.0
        weight = self.query_settings.sentence_weight
        idfs = self._group_idfs(groups)
        total = sum(idfs.values()) or 1.0
        rescored = []
        for hit in hits:
            heading, sentences, _ = self._sentence_terms(hit.passage)
            best = 0.0
            for sentence in sentences:
                terms = heading.union(sentence)
                got = sum(idf for term, idf in idfs.items() if not terms.isdisjoint(groups[term]))
                best = max(best, got)
            rescored.append((hit.score / top + weight * best / total, hit))
        rescored.sort(key=lambda pair: -pair[0])
        return [hit for _, hit in rescored]

    def _sentence_terms(self, passage: Passage) -> _SentenceTerms:
        """Return a passage's heading terms, each sentence's terms and all of them (cached)."""
        cached = self._sentence_cache.get(passage.id)
        if cached is None:
            analyzer = self.index.analyzer
            heading = frozenset(analyzer.terms(" ".join((*passage.parents, passage.section))))
            sentences = [tuple(analyzer.terms(s)) for s in _sentences_of(passage.text)]
            cached = (heading, sentences, heading.union(*sentences))
            if len(self._sentence_cache) > 4096:
                self._sentence_cache.clear()
            self._sentence_cache[passage.id] = cached
        return cached

    def _group_idfs(self, groups: dict[str, dict[str, float]]) -> dict[str, float]:
        """Weigh each question term by its IDF; a word no passage has, as the rarest word."""
        unknown_idf = math.log(len(self.index) + 1)
        idfs = {}
        for term, alternatives in groups.items():
            idf = self.index.idf(term) or max(
                (self.index.idf(a) for a in alternatives), default=0.0
            )
            idfs[term] = idf or unknown_idf
        return idfs

    def _feedback(self, hits: list[Hit], weights: dict[str, float]) -> list[str]:
        """Pick the most informative terms of the top passages that the query lacks."""
        scored: dict[str, float] = {}
        for hit in hits:
            for term in self.index.term_set(hit.passage):
                if term not in weights and term not in self._generic:
                    scored[term] = scored.get(term, 0.0) + self.index.idf(term)
        ranked = sorted(scored, key=lambda t: (-scored[t], t))
        return ranked[: self.query_settings.feedback_terms]

    def _diversify(self, hits: list[Hit], weights: dict[str, float], k: int) -> list[Hit]:
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
            heading, sentences, everything = self._sentence_terms(hit.passage)
            matched = sum(v for t, v in idf.items() if t in everything)
            novel = matched
            if shown:
                new = heading.union(*(s for s in sentences if s not in shown))
                novel = sum(v for t, v in idf.items() if t in new)
            terms = self.index.term_set(hit.passage)
            if novel < matched / 2 or any(_jaccard(terms, other) >= 0.8 for other in kept_terms):
                later.append(hit)
                continue
            kept.append(hit)
            kept_terms.append(terms)
            # Only sentences with some substance count as "shown": "You can do this
            # through pandiculation." and "What is pandiculation?" are not the same.
            shown.update(s for s in sentences if len(s) >= _MIN_REPEAT_TERMS)
        return kept + later

    def confidence(self, groups: dict[str, dict[str, float]], passage: Passage) -> float:
        """Return the share of the question's information that a passage matches.

        Each question term counts by its IDF (a word no passage has counts as the rarest
        possible word), and is matched when the passage has it, or, at the expansion weight,
        a lexicon synonym of it.
        Unlike a raw BM25 score this does not grow with the question's length, so one
        threshold serves short and long questions. A passage matched only through generic
        words ("psoas", "back", "pain") scores 0.
        """
        have = self.index.term_set(passage)
        idfs = self._group_idfs(groups)
        total = sum(idfs.values())
        matched = 0.0
        specific = False
        for term, alternatives in groups.items():
            # A lexicon synonym is weaker evidence than the question's own word.
            found = max((w for a, w in alternatives.items() if a in have), default=0.0)
            if found:
                matched += idfs[term] * found
                specific = specific or term not in self._generic
        if not specific or not total:
            return 0.0
        return matched / total

    def _no_match_notice(self) -> str:
        titles = "; ".join(s.title for s in self._sources)
        return f"{NO_MATCH_NOTICE} They cover: {titles}." if titles else NO_MATCH_NOTICE


def _reasons(findings: list[Finding]) -> str:
    reasons = [f.reason for f in findings]
    if len(reasons) == 1:
        return reasons[0]
    return ", ".join(reasons[:-1]) + " and " + reasons[-1]


def _sentences_of(text: str) -> list[str]:
    return [s for line in text.split("\n") for s in split_sentences(line)]


_MIN_REPEAT_TERMS = 3


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared) if a or b else 0.0


@lru_cache(maxsize=8)
def _build(
    folder: Path, engine: str, settings: IndexSettings, cache_dir: Path | None = None
) -> _Built:
    def build() -> _Built:
        index, sources = _index_documents(iter_documents(folder), engine, settings)
        return _Built(index, sources)

    return load_or_build(cache_dir, folder, engine, settings, build)


def _index_documents(
    docs: Iterable[Document], engine: str, settings: IndexSettings
) -> tuple[Index, tuple[Source, ...]]:
    """Chunk and index documents in one streaming pass, counting passages per document."""
    seen: list[Document] = []

    def remember(docs: Iterable[Document]) -> Iterable[Document]:
        for doc in docs:
            # Keep only the metadata: the text lives on in the passages.
            seen.append(Document(doc.id, doc.title, doc.source, (), doc.path, doc.url, doc.author))
            yield doc

    passages = chunk_all(remember(docs), settings.min_words, settings.max_words)
    index = Index(passages, settings, engine)
    counts = Counter(p.doc_id for p in index.passages)
    sources = tuple(Source(d.id, d.title, d.source, counts[d.id], d.url, d.author) for d in seen)
    return index, sources
