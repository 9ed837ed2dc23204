"""index.py: BM25 top-k with stable ties, headings and titles in the match, positive IDF."""

from __future__ import annotations

import re
from collections.abc import Mapping
from itertools import pairwise
from pathlib import Path

import pytest
from conftest import write_corpus

from psoasbot import Assistant, EngineError, IndexSettings, Passage, QueryError
from psoasbot.chunking import chunk_all
from psoasbot.corpus import load_corpus
from psoasbot.index import DEFAULT_K, Index


@pytest.fixture
def index(tiny_corpus: Path) -> Index:
    return Index(chunk_all(load_corpus(tiny_corpus)))


def ids(index: Index, query: str | Mapping[str, float], **kwargs: int) -> list[str]:
    return [hit.id for hit in index.search(query, **kwargs)]


def test_default_k_is_three(index: Index) -> None:
    assert DEFAULT_K == 3
    hits = index.search("accordion lantern pebbles")  # seven passages match
    assert [(h.rank, h.id) for h in hits] == [
        (1, "notes/pebble#1"),
        (2, "accordion#0"),
        (3, "lantern#0"),
    ]
    assert hits[0].score > hits[1].score > hits[2].score


@pytest.mark.parametrize(
    ("query", "k", "expected"),
    [
        ("folded blanket quiet room", 3, ["accordion#1"]),
        ("lantern glow", 3, ["lantern#0", "lantern#1"]),
        ("lantern glow", 1, ["lantern#0"]),
        ("Why do pebbles help walkers?", 5, ["notes/pebble#1", "notes/pebble#0"]),
        ("accordion", 2, ["accordion#0", "accordion#1"]),
        (
            "accordion lantern pebbles",
            7,
            [
                "notes/pebble#1",
                "accordion#0",
                "lantern#0",
                "notes/pebble#0",
                "lantern#1",
                "accordion#1",
                "accordion#2",
            ],
        ),
        (
            "accordion lantern pebbles",
            100,
            [
                "notes/pebble#1",
                "accordion#0",
                "lantern#0",
                "notes/pebble#0",
                "lantern#1",
                "accordion#1",
                "accordion#2",
            ],
        ),
    ],
    ids=["one-match", "two-matches", "k-1", "k-above-matches", "k-2", "k-all", "k-above-all"],
)
def test_top_k(index: Index, query: str, k: int, expected: list[str]) -> None:
    hits = index.search(query, k=k)
    assert [h.id for h in hits] == expected
    assert [h.rank for h in hits] == list(range(1, len(expected) + 1))
    assert all(a.score >= b.score > 0 for a, b in pairwise(hits))


@pytest.mark.parametrize(
    "query",
    ["zqxjv flurbish", "the and of it", "💪🔥", "?!", "   "],
    ids=["unknown-words", "only-stopwords", "only-emoji", "only-punctuation", "blank"],
)
def test_a_passage_scoring_zero_is_never_returned(index: Index, query: str) -> None:
    assert index.search(query, k=7) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("marigold", ["accordion#2"]),
        ("movement", ["accordion#2"]),
        ("routine", ["lantern#1"]),
        ("basics", ["lantern#0", "lantern#1"]),
        ("walking", ["notes/pebble#0", "notes/pebble#1"]),
    ],
    ids=["heading-only", "parent-heading-only", "heading", "title-only", "title-and-text"],
)
def test_titles_and_headings_take_part_in_matching(
    index: Index, query: str, expected: list[str]
) -> None:
    assert ids(index, query) == expected


def test_ties_are_broken_by_corpus_position(tmp_path: Path) -> None:
    same = "---\ntitle: Same\n---\n## Same\n\nThe same tidy words in every one.\n"
    folder = write_corpus(tmp_path / "c", {f"{name}.md": same for name in "ebdca"})
    index = Index(chunk_all(load_corpus(folder)))
    hits = index.search("tidy words", k=3)
    assert [h.id for h in hits] == ["a#0", "b#0", "c#0"]
    assert hits[0].score == hits[1].score == hits[2].score > 0
    assert ids(index, "tidy words", k=5) == ["a#0", "b#0", "c#0", "d#0", "e#0"]


def test_idf_of_a_term_in_over_half_the_passages_is_positive() -> None:
    texts = ["hip hinge drill", "hip circle", "hip bridge", "calm breathing"]
    passages = [Passage(f"d#{i}", "d", "Title", "", text, i) for i, text in enumerate(texts)]
    index = Index(passages)
    assert index.idf("hip") > 0
    assert index.idf("zqxjv") == 0.0
    assert [(h.id, h.rank) for h in index.search("hip", k=4)] == [
        ("d#1", 1),
        ("d#2", 2),
        ("d#0", 3),
    ]
    # A word of the title alone (not in any text) finds every passage, through the title.
    assert index.idf("titl") == 0.0
    assert [h.id for h in index.search("title", k=4)] == ["d#0", "d#1", "d#2", "d#3"]


def test_weighted_query(index: Index) -> None:
    assert ids(index, {"blanket": 1.0, "lantern": 5.0, "pebbl": 0.0}, k=3) == [
        "lantern#0",
        "lantern#1",
        "accordion#1",
    ]
    assert index.search({"pebbl": 0.0, "zqxjv": 1.0}) == []


@pytest.mark.parametrize(
    "k",
    [0, -1, 1.5, "3", True, None],
    ids=["zero", "negative", "float", "string", "bool", "none"],
)
def test_bad_k(index: Index, k: object) -> None:
    message = f"k must be a whole number of at least 1, not {k!r}; pass k=3 for example"
    with pytest.raises(QueryError, match=f"^{re.escape(message)}$"):
        index.search("lantern", k=k)  # type: ignore[arg-type]


def test_unknown_engine(tiny_corpus: Path) -> None:
    message = "unknown engine 'lucene'; choose one of: rank-bm25, bm25s"
    with pytest.raises(EngineError, match=f"^{re.escape(message)}$"):
        Index(chunk_all(load_corpus(tiny_corpus)), engine="lucene")


def test_bm25s_engine_ranks_the_same(index: Index, tiny_corpus: Path) -> None:
    fast = Index(chunk_all(load_corpus(tiny_corpus)), engine="bm25s")
    for query in ["accordion lantern pebbles", "lantern glow", "marigold", "zqxjv"]:
        expected = index.search(query, k=7)
        hits = fast.search(query, k=7)
        assert [h.id for h in hits] == [h.id for h in expected]
        assert [h.score for h in hits] == pytest.approx([h.score for h in expected], rel=1e-5)
    assert fast.idf("lantern") == pytest.approx(index.idf("lantern"))


def test_the_index_is_built_once_per_folder_and_settings(tiny_corpus: Path) -> None:
    first = Assistant.from_corpus(tiny_corpus)
    assert Assistant.from_corpus(tiny_corpus).index is first.index
    assert Assistant.from_corpus(str(tiny_corpus)).index is first.index
    assert Assistant.from_corpus(tiny_corpus / "notes" / "..").index is first.index
    other = Assistant.from_corpus(tiny_corpus, settings=IndexSettings(heading_weight=3))
    assert other.index is not first.index
    assert Assistant.from_corpus(tiny_corpus, settings=IndexSettings(heading_weight=3)).index is (
        other.index
    )
