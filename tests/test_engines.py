"""The bm25s engine gives the rank-bm25 engine's scores and rankings, on any corpus."""

from __future__ import annotations

import pickle
import random
import re
import shlex
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from psoasbot import Assistant, EngineError, IndexSettings, Passage
from psoasbot._bm25s_engine import BM25SEngine
from psoasbot._extras import install_command
from psoasbot.analysis import Analyzer
from psoasbot.chunking import chunk_all
from psoasbot.corpus import load_corpus
from psoasbot.index import Index, RankBM25Engine, make_engine

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "Why doesn't stretching help my tight psoas?",
    "can sitting all day cause this?",
    "how do I do the kneeling stretch?",
    "what is pandiculation?",
    "how long should I hold a psoas stretch?",
    "lower back pain when I stand up",
    "my hip flexor hurts when running",
    "is the psoas the muscle of the soul?",
    "breathing and the diaphragm",
    "exercises to strengthen the core",
    "psoas psoas psoas",
    "trauma stress fight or flight",
    "pillow under the knees lying on the back",
    "zzzz qqqq",
]


@pytest.fixture(scope="module")
def builtin_passages() -> list[Passage]:
    return list(chunk_all(load_corpus()))


@pytest.fixture(scope="module")
def builtin_indexes(builtin_passages: list[Passage]) -> dict[str, Index]:
    return {e: Index(builtin_passages, engine=e) for e in ("rank-bm25", "bm25s")}


def synthetic_passages(count: int, seed: int = 7) -> list[Passage]:
    """Zipf-distributed made-up words (a fixed seed), 20 to 80 per passage."""
    rng = random.Random(seed)
    vocabulary = [f"w{i}x" for i in range(3000)]
    weights = [1 / rank for rank in range(1, len(vocabulary) + 1)]
    passages = []
    for i in range(count):
        words = rng.choices(vocabulary, weights, k=rng.randint(20, 80))
        doc = f"doc{i // 10}"
        title = " ".join(rng.choices(vocabulary, weights, k=3))
        section = " ".join(rng.choices(vocabulary, weights, k=2)) if i % 4 else ""
        passages.append(Passage(f"{doc}#{i % 10}", doc, title, section, " ".join(words), i % 10))
    return passages


def synthetic_questions(count: int, seed: int = 8) -> list[str]:
    rng = random.Random(seed)
    vocabulary = [f"w{i}x" for i in range(3000)]
    weights = [1 / rank for rank in range(1, len(vocabulary) + 1)]
    return [" ".join(rng.choices(vocabulary, weights, k=rng.randint(1, 6))) for _ in range(count)]


def assert_same_hits(slow: Index, fast: Index, query: str | dict[str, float], k: int) -> None:
    expected, got = slow.search(query, k), fast.search(query, k)
    assert [h.id for h in got] == [h.id for h in expected]
    assert [h.score for h in got] == pytest.approx([h.score for h in expected], rel=1e-4)


@pytest.mark.parametrize("question", QUESTIONS)
def test_same_ranking_on_the_builtin_corpus(
    builtin_indexes: dict[str, Index], question: str
) -> None:
    assert_same_hits(builtin_indexes["rank-bm25"], builtin_indexes["bm25s"], question, k=10)


def test_same_scores_for_every_passage_on_the_builtin_corpus(
    builtin_indexes: dict[str, Index],
) -> None:
    slow, fast = builtin_indexes["rank-bm25"], builtin_indexes["bm25s"]
    for question in QUESTIONS:
        terms = slow.analyzer.terms(question)
        # Same arithmetic in the same order: equal to the last bit, not just close.
        np.testing.assert_array_equal(fast.engine.scores(terms), slow.engine.scores(terms))


def test_same_idf_on_the_builtin_corpus(
    builtin_indexes: dict[str, Index], builtin_passages: list[Passage]
) -> None:
    slow, fast = builtin_indexes["rank-bm25"], builtin_indexes["bm25s"]
    terms = {t for p in builtin_passages for t in slow.term_set(p)} | {"unknownword"}
    assert {t: fast.idf(t) for t in terms} == {t: slow.idf(t) for t in terms}


def test_same_answers_from_the_assistant() -> None:
    slow = Assistant.from_corpus(engine="rank-bm25")
    fast = Assistant.from_corpus(engine="bm25s")
    for question in QUESTIONS:
        assert fast.ask(question, k=5).to_dict() == slow.ask(question, k=5).to_dict()


@pytest.fixture(scope="module")
def synthetic_indexes() -> dict[str, Index]:
    passages = synthetic_passages(3000)
    return {e: Index(passages, engine=e) for e in ("rank-bm25", "bm25s")}


def test_same_ranking_on_a_synthetic_corpus(synthetic_indexes: dict[str, Index]) -> None:
    slow, fast = synthetic_indexes["rank-bm25"], synthetic_indexes["bm25s"]
    for question in synthetic_questions(60):
        assert_same_hits(slow, fast, question, k=10)
        terms = slow.analyzer.terms(question)
        np.testing.assert_array_equal(fast.engine.scores(terms), slow.engine.scores(terms))


def test_same_ranking_for_weighted_queries(synthetic_indexes: dict[str, Index]) -> None:
    slow, fast = synthetic_indexes["rank-bm25"], synthetic_indexes["bm25s"]
    rng = random.Random(3)
    for question in synthetic_questions(30, seed=9):
        weights = {t: rng.choice([1.0, 0.5, 0.3]) for t in slow.analyzer.terms(question)}
        assert_same_hits(slow, fast, weights, k=8)


def test_same_ranking_with_other_settings() -> None:
    passages = synthetic_passages(500, seed=11)
    settings = IndexSettings(k1=0.9, b=0.3, heading_weight=1, stemmer="none")
    slow = Index(passages, settings, engine="rank-bm25")
    fast = Index(passages, settings, engine="bm25s")
    for question in synthetic_questions(30, seed=12):
        assert_same_hits(slow, fast, question, k=5)


def test_passages_without_any_term() -> None:
    passages = [
        Passage("a#0", "a", "", "", "the and of", 0),
        Passage("a#1", "a", "", "", "lantern glow", 1),
        Passage("a#2", "a", "", "", "", 2),
    ]
    slow = Index(passages, engine="rank-bm25")
    fast = Index(passages, engine="bm25s")
    assert [h.id for h in fast.search("lantern", 3)] == ["a#1"]
    np.testing.assert_array_equal(fast.engine.scores(["lantern"]), slow.engine.scores(["lantern"]))


def test_rank_bm25_engine_gives_get_scores_bit_for_bit(builtin_passages: list[Passage]) -> None:
    # The engine keeps each term's vector; sums must still be get_scores' own, cold or warm.
    index = Index(builtin_passages)
    engine = index.engine
    assert isinstance(engine, RankBM25Engine)
    bare = engine._bm25
    for question in QUESTIONS * 2:  # the second round is answered from kept vectors
        terms = index.analyzer.terms(question)
        expected = bare.get_scores(list(dict.fromkeys(terms)))
        np.testing.assert_array_equal(engine.scores(terms), expected)
        assert engine.scores(terms).tobytes() == expected.tobytes()
    assert "psoa" in engine._vectors
    assert "qqqq" not in engine._vectors  # a word no passage has is never kept


def test_rank_bm25_engine_keeps_vectors_within_its_budget(
    builtin_passages: list[Passage], monkeypatch: pytest.MonkeyPatch
) -> None:
    index = Index(builtin_passages)
    engine = index.engine
    assert isinstance(engine, RankBM25Engine)
    monkeypatch.setattr(RankBM25Engine, "VECTOR_CACHE_BYTES", 3 * 8 * len(index))
    terms = ["psoa", "stretch", "hip", "sit", "breath"]
    expected = engine._bm25.get_scores(terms)
    for _ in range(3):
        assert engine.scores(terms).tobytes() == expected.tobytes()
        assert 1 <= len(engine._vectors) <= 3


def test_kept_vectors_cannot_be_changed_through_a_result(builtin_passages: list[Passage]) -> None:
    index = Index(builtin_passages)
    first = index.engine.scores(["psoa"])
    first *= 0  # a caller may change its result ...
    assert index.engine.scores(["psoa"]).any()  # ... but never the kept vector
    assert pickle.loads(pickle.dumps(index.engine))._vectors == {}


def test_unknown_terms_score_zero(builtin_indexes: dict[str, Index]) -> None:
    fast = builtin_indexes["bm25s"]
    assert not fast.engine.scores(["qqqqzzzz"]).any()
    assert not fast.engine.scores([]).any()
    assert fast.search("qqqqzzzz", 3) == []


def test_bm25s_engine_reads_the_passages_once() -> None:
    def once() -> Iterator[list[str]]:
        yield ["pebble", "walk"]
        yield ["lantern"]

    vocabulary = BM25SEngine.new_vocabulary()
    ids = ([vocabulary[term] for term in terms] for terms in once())
    engine = BM25SEngine(ids, vocabulary, k1=1.5, b=0.5)
    expected = RankBM25Engine([["pebble", "walk"], ["lantern"]], k1=1.5, b=0.5)
    assert engine.scores(["lantern"]).tolist() == expected.scores(["lantern"]).tolist()
    assert engine.scores(["lantern"])[1] > 0


@pytest.mark.parametrize("engine", ["rank-bm25", "bm25s"])
def test_engines_survive_pickling(builtin_indexes: dict[str, Index], engine: str) -> None:
    index = builtin_indexes[engine]
    copy = pickle.loads(pickle.dumps(index))
    for question in QUESTIONS[:4]:
        assert copy.search(question, 5) == index.search(question, 5)


def one_passage(terms_of: Callable[[str], list[Any]]) -> list[list[Any]]:
    """A corpus of one passage, "pebble", in the form the engine asks for."""
    return [terms_of("pebble")]


def test_engine_is_chosen_explicitly() -> None:
    passages = synthetic_passages(20)
    engine = make_engine("rank-bm25", one_passage, Analyzer(), IndexSettings())
    assert isinstance(engine, RankBM25Engine)
    assert isinstance(Index(passages).engine, RankBM25Engine)  # the default
    assert isinstance(Index(passages, engine="bm25s").engine, BM25SEngine)
    assert Assistant.from_corpus(engine="bm25s").index.engine_name == "bm25s"


def test_unknown_engine() -> None:
    with pytest.raises(
        EngineError, match="^unknown engine 'lucene'; choose one of: rank-bm25, bm25s$"
    ):
        make_engine("lucene", one_passage, Analyzer(), IndexSettings())


def test_bm25s_missing_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "bm25s", None)
    monkeypatch.delitem(sys.modules, "psoasbot._bm25s_engine")
    command = install_command("fast")
    message = f"the bm25s engine needs the 'fast' extra; install it with: {command}"
    with pytest.raises(EngineError, match=f"^{re.escape(message)}$"):
        make_engine("bm25s", one_passage, Analyzer(), IndexSettings())
    assert command.endswith(" -m pip install -e " + shlex.quote(f"{ROOT}[fast]"))
