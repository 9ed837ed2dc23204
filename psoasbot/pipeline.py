"""Corpus -> passages -> index, in one streaming pass, with the on-disk cache.

What `Assistant.from_corpus` and `Assistant.from_documents` build on: read the documents
(corpus.py), cut them into passages (chunking.py), index the passages (index.py), and count
each document's passages for `psoasbot sources`.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from psoasbot.cache import load_or_build
from psoasbot.chunking import chunk_all
from psoasbot.corpus import iter_documents
from psoasbot.errors import CorpusError
from psoasbot.index import Index, IndexSettings
from psoasbot.models import Document, Source


@dataclass(frozen=True)
class IndexedCorpus:
    """An index and the articles its passages come from (what the cache stores)."""

    index: Index
    sources: tuple[Source, ...]


@lru_cache(maxsize=8)
def index_folder(
    folder: Path, engine: str, settings: IndexSettings, cache_dir: Path | None = None
) -> IndexedCorpus:
    """Index a folder of documents, once per process for each folder, engine and settings.

    With a `cache_dir`, the index is also kept there on disk, and loaded from there while
    the corpus, the settings and psoasbot stay the same.

    Raises:
        CorpusError: the folder or one of its documents cannot be read, or it has no text.
        EngineError: the engine is unknown or its extra is not installed.
    """

    def build() -> IndexedCorpus:
        return index_documents(iter_documents(folder), engine, settings, where=str(folder))

    return load_or_build(cache_dir, folder, engine, settings, build, IndexedCorpus)


def index_documents(
    docs: Iterable[Document],
    engine: str,
    settings: IndexSettings,
    where: str = "the documents given",
) -> IndexedCorpus:
    """Chunk and index documents in one streaming pass, counting passages per document.

    Raises:
        CorpusError: a document cannot be read, or none has any text (`where` names them).
        EngineError: the engine is unknown or its extra is not installed.
    """
    seen: list[Document] = []

    def remember(docs: Iterable[Document]) -> Iterable[Document]:
        for doc in docs:
            # Keep only the metadata: the text lives on in the passages.
            seen.append(Document(doc.id, doc.title, doc.source, (), doc.path, doc.url, doc.author))
            yield doc

    passages = iter(chunk_all(remember(docs), settings.min_words, settings.max_words))
    first = next(passages, None)
    if first is None:
        raise CorpusError(f"no text to answer from in {where}; add articles with text in them")
    index = Index(itertools.chain([first], passages), settings, engine)
    counts = Counter(p.doc_id for p in index.passages)
    sources = tuple(Source(d.id, d.title, d.source, counts[d.id], d.url, d.author) for d in seen)
    return IndexedCorpus(index, sources)
