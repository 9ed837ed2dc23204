"""Corpus -> passages -> index, in one streaming pass, with the on-disk cache.

What `Assistant.from_corpus` and `Assistant.from_documents` build on: read the documents
(corpus.py), cut them into passages (chunking.py), index the passages (index.py), gather
their words for spelling and scope (vocabulary.py), and count each document's passages
for `psoasbot sources`. With semantic matching, also embed each passage once
(`passage_vectors`), kept in the cache beside the index.

A build of a large corpus takes a while (2,000 articles, about 25 s). The library prints
nothing, so a front-end that wants to show how far it has got passes a hook for the
builds it starts: `with reporting_progress(hook): Assistant.from_corpus(...)`.
"""

from __future__ import annotations

import hashlib
import itertools
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from psoasbot.cache import code_fingerprint, load_or_build, load_or_build_keyed
from psoasbot.chunking import chunk
from psoasbot.corpus import document_files, read_documents
from psoasbot.errors import CorpusError
from psoasbot.index import Index, IndexSettings
from psoasbot.lexicon import WordLists
from psoasbot.models import Document, Passage, Source
from psoasbot.vocabulary import Vocabulary

if TYPE_CHECKING:
    from psoasbot.lexicon import Subject
    from psoasbot.semantic import Embedder, PassageVectors, Progress, SubjectVectors

# Each index's passage vectors, by model, for the life of the index.
_vectors: weakref.WeakKeyDictionary[Index, dict[str, PassageVectors]] = weakref.WeakKeyDictionary()
# The off-topic subjects' vectors, by model.
_subjects: dict[str, SubjectVectors] = {}


@dataclass(frozen=True)
class IndexedCorpus:
    """An index, its vocabulary, the articles its passages come from and the analysed word
    lists (what the cache stores)."""

    index: Index
    vocabulary: Vocabulary
    sources: tuple[Source, ...]
    word_lists: WordLists


@dataclass(frozen=True)
class BuildProgress:
    """How far an index build has got, as a progress hook is told after each document.

    Attributes:
        documents: documents read and cut into passages so far.
        total: files to read (a file with no text is skipped, so `documents` may end
            below it); None when the documents were given in memory.
        passages: passages made so far.
        indexing: every document is read; the engine is finishing the index.
    """

    documents: int
    total: int | None
    passages: int
    indexing: bool = False


ProgressHook = Callable[[BuildProgress], None]

# A context variable rather than a parameter: the indexes are memoised per folder, engine
# and settings (lru_cache below), which a hook must not be part of, and the hook reaches
# every build that `Assistant.from_corpus` starts, without changing its signature.
_progress_hook: ContextVar[ProgressHook | None] = ContextVar("progress_hook", default=None)


@contextmanager
def reporting_progress(hook: ProgressHook) -> Iterator[None]:
    """Tell `hook` how every index build started in this block goes (this thread or task).

    An index loaded from the cache, or already built in this process, reports nothing.
    """
    token = _progress_hook.set(hook)
    try:
        yield
    finally:
        _progress_hook.reset(token)


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
        files = document_files(folder)
        docs = read_documents(folder, files)
        return index_documents(docs, engine, settings, where=str(folder), total=len(files))

    return load_or_build(cache_dir, folder, engine, settings, build, IndexedCorpus)


def index_documents(
    docs: Iterable[Document],
    engine: str,
    settings: IndexSettings,
    where: str = "the documents given",
    total: int | None = None,
) -> IndexedCorpus:
    """Chunk and index documents in one streaming pass, counting passages per document.

    `total`, how many documents there are to read, is for the progress hook.

    Raises:
        CorpusError: a document cannot be read, or none has any text (`where` names them).
        EngineError: the engine is unknown or its extra is not installed.
    """
    seen: list[Document] = []
    hook = _progress_hook.get()

    def passages_of(docs: Iterable[Document]) -> Iterator[Passage]:
        made = 0
        for read, doc in enumerate(docs, 1):
            # Keep only the metadata: the text lives on in the passages.
            seen.append(Document(doc.id, doc.title, doc.source, (), doc.path, doc.url, doc.author))
            passages = chunk(doc, settings.min_words, settings.max_words)
            yield from passages
            made += len(passages)
            if hook is not None:
                hook(BuildProgress(read, total, made))
        if hook is not None:
            hook(BuildProgress(len(seen), total, made, indexing=True))

    passages = passages_of(docs)
    first = next(passages, None)
    if first is None:
        raise CorpusError(f"no text to answer from in {where}; add articles with text in them")
    index = Index(itertools.chain([first], passages), settings, engine)
    counts = Counter(p.doc_id for p in index.passages)
    sources = tuple(Source(d.id, d.title, d.source, counts[d.id], d.url, d.author) for d in seen)
    vocabulary = Vocabulary.from_index(index)
    return IndexedCorpus(index, vocabulary, sources, WordLists.default(settings.stemmer))


def passage_vectors(
    index: Index,
    embedder: Embedder,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
) -> PassageVectors:
    """Embed every passage of an index once (`semantic.passage_texts`).

    Kept for the life of the index and, with a `cache_dir`, on disk under a key of the
    model, the passages and psoasbot's code, so that any corpus (the built-in one or a
    `--corpus` folder) is embedded once. `progress(done, total)` is called as texts are
    embedded (about 70 a second on one core), not when they are loaded.
    """
    known = _vectors.setdefault(index, {})
    vectors = known.get(embedder.model_id)
    if vectors is None:
        # What the texts are made of, and the code that makes them: cheaper than making
        # them, which only a build needs.
        digest = hashlib.sha256()
        for passage in index.passages:
            for part in (*passage.parents, "\0", passage.section, "\0", passage.text, "\0"):
                data = part.encode("utf-8", "surrogateescape")
                digest.update(len(data).to_bytes(8, "big") + data)
        key = {"model": embedder.model_id, "code": code_fingerprint(), "texts": digest.hexdigest()}
        vectors = load_or_build_keyed(
            cache_dir, "vectors", key, lambda: _embed_passages(index, embedder, progress)
        )
        known[embedder.model_id] = vectors
    return vectors


def _embed_passages(index: Index, embedder: Embedder, progress: Progress | None) -> PassageVectors:
    import numpy as np

    from psoasbot.semantic import PassageVectors, passage_texts

    texts: list[str] = []
    starts = np.zeros(len(index.passages), dtype=np.intp)
    for n, passage in enumerate(index.passages):
        starts[n] = len(texts)
        texts.extend(passage_texts(passage))
    return PassageVectors(embedder.embed_all(texts, progress), starts)


def subject_vectors(
    subjects: Iterable[Subject],
    embedder: Embedder,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
) -> SubjectVectors:
    """Embed the phrases of the off-topic subjects once, kept in the cache like passages.

    They depend on the model and the list only, not on the corpus.
    """
    from psoasbot.semantic import SubjectVectors

    listed = tuple(subjects)
    vectors = _subjects.get(embedder.model_id)
    if vectors is None or vectors.subjects != listed:
        phrases = [s.phrase for s in listed]
        key = {"model": embedder.model_id, "phrases": phrases}
        vectors = _subjects[embedder.model_id] = load_or_build_keyed(
            cache_dir,
            "subjects",
            key,
            lambda: SubjectVectors(embedder.embed_all(phrases, progress), listed),
        )
    return vectors
