"""Answer quality and safety: dev-set targets, the lexicon, confidence, triage in answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from psoasbot import DISCLAIMER, Assistant, QuerySettings, ScopeSettings
from psoasbot.answer import NO_MATCH_NOTICE
from psoasbot.evaluation import contains, evaluate, load_items
from psoasbot.render import to_text

DEV_SET = Path(__file__).parent / "data" / "dev.jsonl"

# The targets of the quality issue. The dev set's own answers are not memorised anywhere:
# this only checks the aggregate figures, so a change that lowers them fails.
TARGETS = {
    "S@1": (">=", 0.80),
    "S@3": (">=", 0.95),
    "MRR@5": (">=", 0.85),
    "oos_abstention": (">=", 0.90),
    "false_abstention": ("<=", 0.05),
    "red_flag_recall": (">=", 1.0),
    "false_alarms": ("<=", 0.02),
}


@pytest.fixture(scope="module")
def assistant() -> Assistant:
    return Assistant.from_corpus()


@pytest.fixture(scope="module")
def dev_metrics(assistant: Assistant) -> dict[str, float]:
    return evaluate(assistant, load_items(DEV_SET)).metrics


@pytest.mark.parametrize("metric", list(TARGETS), ids=list(TARGETS))
def test_dev_set_meets_the_target(dev_metrics: dict[str, float], metric: str) -> None:
    op, target = TARGETS[metric]
    value = dev_metrics[metric]
    assert value >= target if op == ">=" else value <= target, f"{metric} = {value}"


# --- confidence and abstention -------------------------------------------------------


def test_confidence_does_not_grow_with_question_length(assistant: Assistant) -> None:
    short = assistant.ask("kneeling psoas stretch")
    padded = assistant.ask(
        "Hello there, I was wondering, could you please tell me about the kneeling psoas stretch?"
    )
    assert short.confidence == padded.confidence == 1.0
    assert [h.id for h in short.passages] == [h.id for h in padded.passages]


@pytest.mark.parametrize(
    "question",
    ["psoas", "back pain", "my psoas muscle hurts, help", "psoas pain and my mortgage"],
    ids=["psoas", "back-pain", "generic-words", "generic-plus-unknown"],
)
def test_a_match_on_generic_words_only_is_not_covered(assistant: Assistant, question: str) -> None:
    answer = assistant.ask(question)
    assert answer.status == "no_match"
    assert answer.passages == ()


def test_no_match_says_so_and_lists_what_the_articles_cover(assistant: Assistant) -> None:
    answer = assistant.ask("Which mortgage lender has the lowest fees?")
    titles = "; ".join(source.title for source in assistant.sources())
    assert answer.status == "no_match"
    assert answer.notice == f"{NO_MATCH_NOTICE} They cover: {titles}."
    assert answer.disclaimer == DISCLAIMER
    assert answer.confidence < ScopeSettings().min_confidence


# --- diversity ----------------------------------------------------------------------

HOLD = "Hold for 30 seconds and switch sides"


def test_a_repeated_sentence_does_not_crowd_the_top(assistant: Assistant) -> None:
    answer = assistant.ask("how long do I hold each stretch before I switch sides?")
    assert sum(contains(hit.text, HOLD) for hit in answer.passages) == 1
    crowded = Assistant(assistant.index, assistant.sources(), QuerySettings(diversity=False))
    assert sum(contains(h.text, HOLD) for h in crowded.ask(answer.question).passages) == 3


def test_distinct_passages_that_share_a_sentence_are_kept(assistant: Assistant) -> None:
    answer = assistant.ask("which psoas stretches can I do kneeling, lying or standing?", k=4)
    sections = {hit.passage.section for hit in answer.passages}
    assert {"Kneeling Psoas Stretch", "Lying Psoas Stretch", "Standing Psoas Stretch"} <= sections


# --- triage in answers and front-ends -----------------------------------------------


def test_an_urgent_answer_is_the_notice_alone(assistant: Assistant) -> None:
    answer = assistant.ask("my back hurts and since this morning I can't pee, which stretch helps?")
    assert (answer.status, answer.urgent, answer.passages) == ("urgent", True, ())
    assert answer.notice is not None
    assert answer.notice.startswith("Get medical help now. Your message mentions new loss of")
    assert "call your local emergency number" in answer.notice
    assert answer.disclaimer == DISCLAIMER
    assert to_text(answer, width=1000) == f"{answer.notice}\n\nDisclaimer: {DISCLAIMER}"
    data = answer.to_dict()
    assert (data["status"], data["urgent"], data["passages"]) == ("urgent", True, [])


def test_an_urgent_answer_names_each_warning_sign(assistant: Assistant) -> None:
    answer = assistant.ask("I have a fever of 39C and my back hurts")
    assert (answer.status, answer.passages) == ("urgent", ())
    assert answer.notice is not None
    assert answer.notice.startswith(
        "Get medical help now. Your message mentions back or hip pain with a fever."
    )


def test_ordinary_question_is_not_urgent(assistant: Assistant) -> None:
    answer = assistant.ask("can sitting all day make my hip flexors tight?")
    assert answer.urgent is False
    assert answer.status == "answered"
    assert answer.notice is None
