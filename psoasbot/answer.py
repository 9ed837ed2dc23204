"""Question -> Answer: validate, triage, retrieve, judge the scope, and always the disclaimer.

`Assistant.ask` only puts the steps together; each policy lives in its own module:
emergencies in triage.py, matching in retrieval.py, "not covered" in scope.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from psoasbot import models
from psoasbot.corpus import builtin_corpus_path, resolve_folder
from psoasbot.errors import QueryError, SemanticError
from psoasbot.index import DEFAULT_K, Index, IndexSettings, check_k
from psoasbot.lexicon import WordLists
from psoasbot.models import Answer, Document, Matching, Source
from psoasbot.pipeline import (
    IndexedCorpus,
    index_documents,
    index_folder,
    passage_vectors,
    subject_vectors,
)
from psoasbot.query import QuerySettings
from psoasbot.retrieval import Retriever
from psoasbot.scope import Scope, ScopeSettings
from psoasbot.triage import Finding, find_red_flags
from psoasbot.vocabulary import Vocabulary

if TYPE_CHECKING:
    from psoasbot.semantic import Progress, SemanticIndex

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


class Assistant:
    """Answers questions from a corpus with cited passages and the disclaimer.

    Build it with `Assistant.from_corpus()`; the index is built once and reused by every
    `ask`.

    Attributes:
        index: the BM25 index of the corpus's passages.
        retriever: how a question is matched (`query_settings`).
        scope: when the articles cover a question (`scope_settings`).
        triage: whether messages are checked for emergency warning signs (always, unless
            turned off to measure what triage does).
        matching: whether questions are matched by meaning as well as by words, and why
            not when they are not.
    """

    def __init__(
        self,
        index: Index,
        sources: Iterable[Source] = (),
        query_settings: QuerySettings | None = None,
        scope_settings: ScopeSettings | None = None,
        *,
        vocabulary: Vocabulary | None = None,
        word_lists: WordLists | None = None,
        triage: bool = True,
        semantic: SemanticIndex | None = None,
        matching: Matching | None = None,
    ) -> None:
        self.index = index
        self._sources = tuple(sources)
        self.vocabulary = vocabulary or Vocabulary.from_index(index)
        lists = word_lists or WordLists.default(index.settings.stemmer)
        self.retriever = Retriever(
            index, query_settings, self.vocabulary, lists.lexicon, semantic=semantic
        )
        self.scope = Scope(
            index, self.vocabulary, scope_settings, lists.off_topic, semantic=semantic
        )
        self.triage = triage
        if matching is None:
            matching = (
                Matching(True, model=semantic.embedder.description)
                if semantic is not None
                else Matching(False, reason="no semantic index was given")
            )
        self.matching = matching

    @classmethod
    def _from_built(
        cls,
        built: IndexedCorpus,
        query_settings: QuerySettings | None,
        scope_settings: ScopeSettings | None,
        triage: bool,
        semantic: bool | None,
        cache_dir: Path | None,
        progress: Progress | None,
    ) -> Assistant:
        index, matching = _semantic_index(built, semantic, cache_dir, progress)
        return cls(
            built.index,
            built.sources,
            query_settings,
            scope_settings,
            vocabulary=built.vocabulary,
            word_lists=built.word_lists,
            triage=triage,
            semantic=index,
            matching=matching,
        )

    @classmethod
    def from_corpus(
        cls,
        path: str | Path | None = None,
        *,
        engine: str = "rank-bm25",
        settings: IndexSettings | None = None,
        query_settings: QuerySettings | None = None,
        scope_settings: ScopeSettings | None = None,
        triage: bool = True,
        cache_dir: str | Path | None = None,
        semantic: bool | None = None,
        progress: Progress | None = None,
    ) -> Assistant:
        """Build an assistant from a folder of documents (the built-in corpus by default).

        The index is built once per process for each folder, engine and settings. With a
        `cache_dir` it is also kept there on disk, and later processes load it instead of
        building it while the corpus, the settings and psoasbot stay the same.

        Questions are matched by meaning as well as by words when the `[semantic]` extra
        is installed (`semantic=None`); `semantic=False` matches by words only, and
        `semantic=True` insists on meaning. Each passage is then embedded once (kept in
        `cache_dir` too), calling `progress(done, total)` as it goes; `matching` says
        which mode is on, and why.

        Raises:
            CorpusError: the folder or one of its documents cannot be read, or it has no
                text.
            EngineError: the engine is unknown or its extra is not installed.
            SemanticError: `semantic=True`, and the extra is not installed or its model
                cannot be loaded.
        """
        folder = resolve_folder(path) if path is not None else builtin_corpus_path()
        cache = Path(cache_dir) if cache_dir is not None else None
        built = index_folder(folder, engine, settings or IndexSettings(), cache)
        return cls._from_built(
            built, query_settings, scope_settings, triage, semantic, cache, progress
        )

    @classmethod
    def from_documents(
        cls,
        docs: Iterable[Document],
        *,
        engine: str = "rank-bm25",
        settings: IndexSettings | None = None,
        query_settings: QuerySettings | None = None,
        scope_settings: ScopeSettings | None = None,
        triage: bool = True,
        semantic: bool | None = None,
        progress: Progress | None = None,
    ) -> Assistant:
        """Build an assistant from documents already in memory.

        `semantic` and `progress` work as for `from_corpus` (nothing is cached on disk).

        Raises:
            CorpusError: none of the documents has any text.
            EngineError: the engine is unknown or its extra is not installed.
            SemanticError: `semantic=True`, and the extra is not installed or its model
                cannot be loaded.
        """
        built = index_documents(docs, engine, settings or IndexSettings())
        return cls._from_built(
            built, query_settings, scope_settings, triage, semantic, None, progress
        )

    def sources(self) -> tuple[Source, ...]:
        """Return the articles of the corpus, in corpus order."""
        return self._sources

    def ask(self, question: str, k: int = DEFAULT_K) -> Answer:
        """Answer a question with up to k cited passages, always with the disclaimer.

        Red-flag triage runs first: a message describing emergency warning signs gets
        `status="urgent"`, `urgent=True`, the notice to get emergency care and no passages.
        A question the articles don't cover gets `status="no_match"`, no passages and a
        notice that says so.

        Raises:
            QueryError: the question is empty or blank, or k is below 1.
        """
        check_k(k)
        if not isinstance(question, str) or not question.strip():
            raise QueryError("the question is empty; ask something like 'why is my psoas tight?'")
        question = question.strip()
        findings = find_red_flags(question) if self.triage else []
        if findings:
            # Only the notice: self-care passages under it would read as reassurance and
            # contradict "don't try stretches until a clinician has seen you".
            return Answer(
                question=question,
                status="urgent",
                passages=(),
                disclaimer=DISCLAIMER,
                notice=URGENT_NOTICE.format(reasons=_reasons(findings)),
            )
        notices: list[str] = []
        text = question
        if len(text) > MAX_QUESTION_CHARS:
            text = text[:MAX_QUESTION_CHARS]
            notices.append(LONG_QUESTION_NOTICE)

        query = self.retriever.query(text)
        hits = self.retriever.retrieve(query, k)
        verdict = self.scope.judge(query, hits)
        if not verdict.covered:
            return Answer(
                question=question,
                status="no_match",
                passages=(),
                disclaimer=DISCLAIMER,
                notice="\n\n".join([*notices, self._no_match_notice()]),
                verdict=verdict,
            )
        return Answer(
            question=question,
            status="answered",
            passages=tuple(hits),
            disclaimer=DISCLAIMER,
            notice="\n\n".join(notices) or None,
            verdict=verdict,
        )

    def _no_match_notice(self) -> str:
        titles = "; ".join(s.title for s in self._sources)
        return f"{NO_MATCH_NOTICE} They cover: {titles}." if titles else NO_MATCH_NOTICE


def _semantic_index(
    built: IndexedCorpus, wanted: bool | None, cache_dir: Path | None, progress: Progress | None
) -> tuple[SemanticIndex | None, Matching]:
    """Load the model and the vectors of the passages and subjects, as asked and as installed.

    Raises:
        SemanticError: `wanted` is True and the model cannot be loaded.
    """
    if wanted is False:
        return None, Matching(False, reason="semantic matching is turned off")
    if wanted is None and not models.semantic_installed():
        from psoasbot._extras import install_command

        reason = "the semantic extra is not installed"
        return None, Matching(
            False, reason=f"{reason} (install it with: {install_command('semantic')})"
        )
    # Imported only now: the plain install, and matching by words only, never load it.
    from psoasbot import semantic

    try:
        embedder = semantic.load_embedder(cache_dir)
    except SemanticError as exc:
        if wanted:
            raise
        reason = f"semantic matching failed to load: {exc}"
        return None, Matching(False, reason=reason, failed=True)
    passages = passage_vectors(built.index, embedder, cache_dir, progress)
    subjects = subject_vectors(built.word_lists.off_topic.values(), embedder, cache_dir, progress)
    return (
        semantic.SemanticIndex(embedder, passages, subjects),
        Matching(True, model=embedder.description),
    )


def _reasons(findings: list[Finding]) -> str:
    reasons = [f.reason for f in findings]
    if len(reasons) == 1:
        return reasons[0]
    return ", ".join(reasons[:-1]) + " and " + reasons[-1]
