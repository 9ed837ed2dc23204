"""Question -> Answer: retrieval, citations and the disclaimer that every answer carries."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from psoasbot.chunking import chunk_all
from psoasbot.corpus import builtin_corpus_path, iter_documents
from psoasbot.errors import QueryError
from psoasbot.index import DEFAULT_K, Index, IndexSettings, check_k
from psoasbot.models import Answer, Document, Source

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


@dataclass(frozen=True)
class _Built:
    index: Index
    sources: tuple[Source, ...]


class Assistant:
    """Answers questions from a corpus with cited passages and the disclaimer.

    Build it with `Assistant.from_corpus()`; the index is built once and reused by every
    `ask`.
    """

    def __init__(self, index: Index, sources: Iterable[Source] = ()) -> None:
        self.index = index
        self._sources = tuple(sources)

    @classmethod
    def from_corpus(
        cls,
        path: str | Path | None = None,
        *,
        engine: str = "rank-bm25",
        settings: IndexSettings | None = None,
    ) -> Assistant:
        """Build an assistant from a folder of documents (the built-in corpus by default).

        The index is built once per process for each folder, engine and settings.

        Raises:
            CorpusError: the folder or one of its documents cannot be read.
            EngineError: the engine is unknown or its extra is not installed.
        """
        folder = Path(path).resolve() if path is not None else builtin_corpus_path()
        built = _build(folder, engine, settings or IndexSettings())
        return cls(built.index, built.sources)

    @classmethod
    def from_documents(
        cls,
        docs: Iterable[Document],
        *,
        engine: str = "rank-bm25",
        settings: IndexSettings | None = None,
    ) -> Assistant:
        """Build an assistant from documents already in memory."""
        index, sources = _index_documents(docs, engine, settings or IndexSettings())
        return cls(index, sources)

    def sources(self) -> tuple[Source, ...]:
        """Return the articles of the corpus, in corpus order."""
        return self._sources

    def ask(self, question: str, k: int = DEFAULT_K) -> Answer:
        """Answer a question with up to k cited passages, always with the disclaimer.

        Raises:
            QueryError: the question is empty or blank, or k is below 1.
        """
        check_k(k)
        if not isinstance(question, str) or not question.strip():
            raise QueryError("the question is empty; ask something like 'why is my psoas tight?'")
        question = question.strip()
        notice = None
        query = question
        if len(query) > MAX_QUESTION_CHARS:
            query = query[:MAX_QUESTION_CHARS]
            notice = LONG_QUESTION_NOTICE
        hits = self.index.search(query, k)
        if not hits:
            return Answer(
                question=question,
                status="no_match",
                passages=(),
                disclaimer=DISCLAIMER,
                notice=_join(NO_MATCH_NOTICE, notice),
            )
        return Answer(
            question=question,
            status="answered",
            passages=tuple(hits),
            disclaimer=DISCLAIMER,
            notice=notice,
        )


def _join(*notices: str | None) -> str | None:
    parts = [n for n in notices if n]
    return " ".join(parts) if parts else None


@lru_cache(maxsize=8)
def _build(folder: Path, engine: str, settings: IndexSettings) -> _Built:
    index, sources = _index_documents(iter_documents(folder), engine, settings)
    return _Built(index, sources)


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

    index = Index(chunk_all(remember(docs)), settings, engine)
    counts = Counter(p.doc_id for p in index.passages)
    sources = tuple(Source(d.id, d.title, d.source, counts[d.id], d.url, d.author) for d in seen)
    return index, sources
