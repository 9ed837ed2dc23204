"""Answer quality and safety: the development sets' floors, diversity, triage in answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from psoasbot import DISCLAIMER, Assistant, QuerySettings
from psoasbot.evaluation import contains, evaluate, load_items
from psoasbot.render import to_text

DATA = Path(__file__).parent / "data"

# In-sample floors of the two development sets, a little under today's figures
# (`psoasbot eval tests/data/dev.jsonl tests/data/dev2.jsonl`), so that a change that
# lowers them fails. The sets' own answers are not memorised anywhere: only the aggregate
# figures are checked. The cross-validated figures are in docs/quality.md
# (benchmarks/quality_cv.py).
FLOORS = {
    "dev.jsonl": {
        "S@1": (">=", 0.825),
        "S@3": (">=", 0.925),
        "MRR@5": (">=", 0.87),
        "false_abstention": ("<=", 0.025),
        "oos_abstention": (">=", 0.90),
        "red_flag_recall": (">=", 1.0),
        "false_alarms": ("<=", 0.02),
    },
    "dev2.jsonl": {
        "S@1": (">=", 0.54),
        "S@3": (">=", 0.74),
        "MRR@5": (">=", 0.64),
        "false_abstention": ("<=", 0.02),
        "oos_abstention": (">=", 0.76),
        "red_flag_recall": (">=", 0.93),
        "false_alarms": ("<=", 0.02),
    },
}
CASES = [(name, metric) for name, floors in FLOORS.items() for metric in floors]


@pytest.fixture(scope="module")
def assistant() -> Assistant:
    return Assistant.from_corpus(semantic=False)


@pytest.fixture(scope="module")
def metrics(assistant: Assistant) -> dict[str, dict[str, float]]:
    return {name: evaluate(assistant, load_items(DATA / name)).metrics for name in FLOORS}


@pytest.mark.parametrize(("name", "metric"), CASES, ids=[f"{n}-{m}" for n, m in CASES])
def test_the_development_sets_stay_above_their_floors(
    metrics: dict[str, dict[str, float]], name: str, metric: str
) -> None:
    op, floor = FLOORS[name][metric]
    value = metrics[name][metric]
    assert value >= floor if op == ">=" else value <= floor, f"{name} {metric} = {value}"


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
