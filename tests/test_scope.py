"""scope.py: when the articles cover a question, and why not."""

from __future__ import annotations

import math

import pytest

from psoasbot import Assistant, ScopeSettings
from psoasbot.scope import Scope, Verdict

# The tiny corpus has 7 passages; "lantern" is in 2 of them: IDF log(8 / 2) = 2 log 2.
# A word no passage has counts as the rarest: IDF log(8 / 1) = 3 log 2. So a passage
# with "lantern" matches 2 / (2 + 3) of "lantern zqxjv".


def judge(assistant: Assistant, question: str, settings: ScopeSettings | None = None) -> Verdict:
    query = assistant.retriever.query(question)
    hits = assistant.retriever.retrieve(query, 3)
    return Scope(assistant.index, settings).judge(query, hits)


def test_no_candidate_is_not_covered(tiny_assistant: Assistant) -> None:
    assert judge(tiny_assistant, "zqxjv flurbish") == Verdict(
        False, 0.0, "no passage shares a word with the question"
    )


def test_a_match_through_generic_words_only_is_not_covered(tiny_assistant: Assistant) -> None:
    generic = ScopeSettings(generic_terms=("lantern",))
    assert judge(tiny_assistant, "lantern zqxjv", generic) == Verdict(
        False, 0.0, "the best passage matches none but generic words"
    )


@pytest.mark.parametrize(
    ("threshold", "covered", "reason"),
    [
        (
            0.375,
            True,
            "the best passage matches 0.40 of the question's information, at least 0.375",
        ),
        (0.5, False, "the best passage matches 0.40 of the question's information, below 0.5"),
    ],
    ids=["above", "below"],
)
def test_the_threshold_decides(
    tiny_assistant: Assistant, threshold: float, covered: bool, reason: str
) -> None:
    verdict = judge(tiny_assistant, "lantern zqxjv", ScopeSettings(min_confidence=threshold))
    assert (verdict.covered, verdict.reason) == (covered, reason)
    assert verdict.confidence == pytest.approx(0.4)


def test_an_unknown_word_counts_as_the_rarest(tiny_assistant: Assistant) -> None:
    index = tiny_assistant.index
    query = tiny_assistant.retriever.query("lantern zqxjv")
    information = Scope(index).information(query)
    assert information == {"lantern": index.idf("lantern"), "zqxjv": index.rarest_idf}
    assert information["lantern"] == pytest.approx(math.log(4))
    assert information["zqxjv"] == pytest.approx(math.log(8))


def test_the_answer_carries_the_verdicts_confidence(tiny_assistant: Assistant) -> None:
    answer = tiny_assistant.ask("lantern zqxjv")
    assert answer.status == "answered"
    assert answer.confidence == judge(tiny_assistant, "lantern zqxjv").confidence
