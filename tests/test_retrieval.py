"""retrieval.py: the candidates a query gets, the lexicon switch, and diversity."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_corpus

from psoasbot import Assistant, QuerySettings
from psoasbot.retrieval import Retriever


def test_each_question_term_matches_itself(tiny_assistant: Assistant) -> None:
    retriever = Retriever(tiny_assistant.index, QuerySettings(lexicon=False))
    query = retriever.query("How do I kneel on the folded blanket?")
    assert query.groups == {
        "kneel": {"kneel": 1.0},
        "fold": {"fold": 1.0},
        "blanket": {"blanket": 1.0},
    }
    assert query.weights == {"kneel": 1.0, "fold": 1.0, "blanket": 1.0}


def test_the_lexicon_can_be_turned_off(tiny_assistant: Assistant) -> None:
    index = tiny_assistant.index
    expanded = Retriever(index, QuerySettings(expansion_weight=0.5)).query("my hip flexor")
    plain = Retriever(index, QuerySettings(lexicon=False)).query("my hip flexor")
    assert expanded.groups["hip"] == {"hip": 1.0, "psoa": 0.5, "iliopsoa": 0.5}
    assert plain.groups == {"hip": {"hip": 1.0}, "flexor": {"flexor": 1.0}}


def test_without_diversity_the_ranking_is_plain_bm25(tiny_assistant: Assistant) -> None:
    index = tiny_assistant.index
    retriever = Retriever(index, QuerySettings(diversity=False))
    query = retriever.query("lantern breath before sleep")
    assert retriever.retrieve(query, 2) == index.search(query.weights, 2)


WALRUS = "The walrus sleeps on the warm rocks by the lighthouse"
NEAR_DUPLICATES: dict[str, str | bytes] = {
    "a.md": f"---\ntitle: Walruses\n---\n## Rest\n\n{WALRUS}.\n",
    "b.md": f"---\ntitle: Walruses\n---\n## Rest\n\n{WALRUS} tonight.\n",
    "c.md": "---\ntitle: Seals\n---\n## Swim\n\nA walrus swims past the lighthouse.\n",
}


@pytest.mark.parametrize(
    ("diversity", "ranking"),
    [(False, ["a#0", "b#0", "c#0"]), (True, ["a#0", "c#0", "b#0"])],
    ids=["off", "on"],
)
def test_a_near_duplicate_waits_for_a_passage_that_says_something_new(
    tmp_path: Path, diversity: bool, ranking: list[str]
) -> None:
    index = Assistant.from_corpus(write_corpus(tmp_path / "c", NEAR_DUPLICATES)).index
    retriever = Retriever(index, QuerySettings(diversity=diversity))
    hits = retriever.retrieve(retriever.query("walrus rocks lighthouse"), 3)
    assert [(h.rank, h.id) for h in hits] == list(enumerate(ranking, 1))
