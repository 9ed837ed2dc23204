"""pipeline.py: documents -> passages -> index, the sources it counts, and an empty corpus."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from psoasbot import Assistant, CorpusError, CorpusWarning, Document, IndexSettings, Source
from psoasbot.corpus import load_corpus
from psoasbot.pipeline import BuildProgress, index_documents, index_folder, reporting_progress

EMPTY = Document("empty", "Nothing Here", "empty.md", ())


def test_sources_count_each_documents_passages_in_corpus_order(tiny_corpus: Path) -> None:
    built = index_documents([*load_corpus(tiny_corpus), EMPTY], "rank-bm25", IndexSettings())
    assert built.sources == (
        Source(
            "accordion",
            "The Accordion Stretch",
            "accordion-source.txt",
            3,
            url="https://example.org/accordion",
            author="Ada Lovelace",
        ),
        Source("lantern", "Lantern Breathing Basics", "lantern-source.txt", 2),
        Source("notes/pebble", "Pebble Walking", "pebble.txt", 2),
        Source("empty", "Nothing Here", "empty.md", 0),
    )
    assert len(built.index) == 7


def test_documents_without_text_are_a_corpus_error_that_names_them() -> None:
    message = "no text to answer from in corpus/; add articles with text in them"
    with pytest.raises(CorpusError, match=f"^{re.escape(message)}$"):
        index_documents([EMPTY], "rank-bm25", IndexSettings(), where="corpus/")
    with pytest.raises(CorpusError, match="^no text to answer from in the documents given;"):
        Assistant.from_documents([])


def test_a_folder_is_indexed_once_per_process(tiny_corpus: Path) -> None:
    first = index_folder(tiny_corpus.resolve(), "rank-bm25", IndexSettings(), None)
    assert index_folder(tiny_corpus.resolve(), "rank-bm25", IndexSettings(), None) is first
    assert Assistant.from_corpus(tiny_corpus).index is first.index


def test_a_folder_of_empty_files_warns_of_each_then_has_no_text(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "a.md").write_text("", encoding="utf-8")
    message = f"no text to answer from in {folder}; add articles with text in them"
    with pytest.warns(CorpusWarning, match="a.md: the document is empty, so it is skipped"):
        with pytest.raises(CorpusError, match=f"^{re.escape(message)}$"):
            index_folder(folder, "rank-bm25", IndexSettings(), None)


def test_a_build_tells_the_progress_hook_after_each_document(tiny_corpus: Path) -> None:
    (tiny_corpus / "zz-empty.md").write_text("", encoding="utf-8")
    seen: list[BuildProgress] = []
    with reporting_progress(seen.append), pytest.warns(CorpusWarning):
        index_folder(tiny_corpus.resolve(), "rank-bm25", IndexSettings(), None)
    assert seen == [
        BuildProgress(1, 4, 3),
        BuildProgress(2, 4, 5),
        BuildProgress(3, 4, 7),
        BuildProgress(3, 4, 7, indexing=True),  # the empty file was skipped
    ]
    # Built already in this process: nothing to report.
    with reporting_progress(seen.append):
        index_folder(tiny_corpus.resolve(), "rank-bm25", IndexSettings(), None)
    assert len(seen) == 4


def test_documents_in_memory_have_no_total(tiny_corpus: Path) -> None:
    seen: list[BuildProgress] = []
    with reporting_progress(seen.append):
        index_documents(load_corpus(tiny_corpus), "rank-bm25", IndexSettings())
    assert seen[-1] == BuildProgress(3, None, 7, indexing=True)


def test_no_hook_outside_the_block(tiny_corpus: Path) -> None:
    seen: list[BuildProgress] = []
    with reporting_progress(seen.append):
        pass
    index_documents(load_corpus(tiny_corpus), "rank-bm25", IndexSettings())
    assert seen == []
