"""answer.py and models.py: the library API, Answer and its JSON object, always the disclaimer."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import write_corpus

import psoasbot
from psoasbot import DISCLAIMER, Answer, Assistant, Hit, Passage, QueryError, Source

LONG_NOTICE = "Your message is long, so only its first 1,000 characters were used to find passages."
NO_MATCH_START = "The articles don't cover this, so there is no passage to show."


def test_public_api() -> None:
    assert set(psoasbot.__all__) >= {
        "DISCLAIMER",
        "Answer",
        "Assistant",
        "CorpusError",
        "Document",
        "EngineError",
        "Hit",
        "IndexSettings",
        "Passage",
        "PsoasbotError",
        "QueryError",
        "Source",
        "__version__",
    }
    assert all(hasattr(psoasbot, name) for name in psoasbot.__all__)
    assert DISCLAIMER == (
        "This is information from the listed articles, for education only. It is not medical "
        "advice and is no substitute for examination, diagnosis or treatment by a qualified "
        "health professional. If your symptoms are severe, sudden or getting worse, get urgent "
        "medical care."
    )


def test_ask_returns_cited_passages_and_the_disclaimer(tiny_assistant: Assistant) -> None:
    answer = tiny_assistant.ask("  How do I kneel on the folded blanket?\n")
    assert isinstance(answer, Answer)
    assert answer.question == "How do I kneel on the folded blanket?"
    assert (answer.status, answer.urgent, answer.notice) == ("answered", False, None)
    assert answer.disclaimer == DISCLAIMER
    [hit] = answer.passages
    assert isinstance(hit, Hit)
    assert (hit.rank, hit.id, hit.citation) == (
        1,
        "accordion#1",
        "The Accordion Stretch › Getting Ready",
    )
    assert hit.passage == Passage(
        id="accordion#1",
        doc_id="accordion",
        title="The Accordion Stretch",
        section="Getting Ready",
        text=(
            "Fold a blanket & kneel on it. You will need:\n"
            "- a folded blanket\n- a quiet room\n- ten minutes"
        ),
        position=1,
        parents=(),
    )
    assert hit.text == hit.passage.text
    assert hit.score > 0


def test_ranking_and_citations(tiny_assistant: Assistant) -> None:
    answer = tiny_assistant.ask("lantern glow")
    assert [(h.rank, h.id, h.citation) for h in answer.passages] == [
        (1, "lantern#0", "Lantern Breathing Basics › Lantern Breath"),
        (2, "lantern#1", "Lantern Breathing Basics › Evening Routine"),
    ]
    assert answer.passages[0].score > answer.passages[1].score > 0


@pytest.mark.parametrize(
    ("question", "citation"),
    [
        ("smooth barefoot pebbles", "Pebble Walking"),
        ("Why do uneven pebbles soothe walkers?", "Pebble Walking › Why Pebbles Help"),
        ("marigold bellows sway", "The Accordion Stretch › Marigold Variation"),
    ],
    ids=["before-the-first-heading", "txt-heading", "sub-section"],
)
def test_citation_is_title_and_section(
    tiny_assistant: Assistant, question: str, citation: str
) -> None:
    assert tiny_assistant.ask(question).passages[0].citation == citation


def test_k_limits_the_passages(tiny_assistant: Assistant) -> None:
    assert [h.id for h in tiny_assistant.ask("lantern glow", k=1).passages] == ["lantern#0"]


@pytest.mark.parametrize("k", [0, -3, 2.5, "2"], ids=["zero", "negative", "float", "string"])
def test_bad_k(tiny_assistant: Assistant, k: object) -> None:
    message = f"k must be a whole number of at least 1, not {k!r}; pass k=3 for example"
    with pytest.raises(QueryError, match=f"^{re.escape(message)}$"):
        tiny_assistant.ask("lantern glow", k=k)  # type: ignore[arg-type]


@pytest.mark.parametrize("question", ["", "   ", "\n\t\n"], ids=["empty", "spaces", "whitespace"])
def test_empty_question(tiny_assistant: Assistant, question: str) -> None:
    message = "the question is empty; ask something like 'why is my psoas tight?'"
    with pytest.raises(QueryError, match=f"^{re.escape(message)}$"):
        tiny_assistant.ask(question)


def test_no_match_still_carries_the_disclaimer(tiny_assistant: Assistant) -> None:
    answer = tiny_assistant.ask("zqxjv flurbish")
    assert (answer.question, answer.status, answer.urgent, answer.passages) == (
        "zqxjv flurbish",
        "no_match",
        False,
        (),
    )
    assert answer.notice is not None and answer.notice.startswith(NO_MATCH_START)
    assert answer.disclaimer == DISCLAIMER
    assert answer.to_dict()["passages"] == []


def test_a_very_long_question_is_answered_from_its_start(tiny_assistant: Assistant) -> None:
    question = "lantern glow " * 7693  # 100,009 characters
    answer = tiny_assistant.ask(question)
    assert answer.question == question.strip()
    assert (answer.status, answer.notice) == ("answered", LONG_NOTICE)
    assert [h.id for h in answer.passages] == ["lantern#0", "lantern#1"]
    assert answer.disclaimer == DISCLAIMER


def test_only_the_first_1000_characters_are_searched(tiny_assistant: Assistant) -> None:
    answer = tiny_assistant.ask("zqxjv " * 200 + "lantern glow")
    assert (answer.status, answer.passages) == ("no_match", ())
    assert answer.notice is not None
    assert NO_MATCH_START in answer.notice and LONG_NOTICE in answer.notice


@pytest.mark.parametrize(
    "question",
    [
        "\x00\x07lantern\x1b[31m glow\u200b\ufeff\r",
        "lantern 💪🔥 glow 😣",
        "\ud800 lantern glow",  # a lone surrogate, as a broken client may send
    ],
    ids=["control-characters", "emoji", "lone-surrogate"],
)
def test_odd_characters_are_answered(tiny_assistant: Assistant, question: str) -> None:
    answer = tiny_assistant.ask(question)
    assert answer.status == "answered"
    assert answer.passages[0].id == "lantern#0"
    assert answer.disclaimer == DISCLAIMER


@pytest.mark.parametrize(
    ("question", "passage"),
    [
        ("Что соединяет поясничная мышца?", "ru#0"),
        ("Ο ψοΐτης ενώνει τη σπονδυλική στήλη", "el#0"),
        ("عضلة الورك تربط العمود الفقري", "ar#0"),
    ],
    ids=["russian", "greek", "arabic"],
)
def test_other_scripts_are_answered(tmp_path: Path, question: str, passage: str) -> None:
    folder = write_corpus(
        tmp_path / "c",
        {
            "ru.md": "# Поясничная мышца\n\nПоясничная мышца соединяет позвоночник и бедро.\n",
            "el.md": "# Ψοΐτης\n\nΟ ψοΐτης ενώνει τη σπονδυλική στήλη με το μηριαίο οστό.\n",
            "ar.md": "# عضلة الورك\n\nتربط عضلة الورك العمود الفقري بعظم الفخذ.\n",
        },
    )
    answer = Assistant.from_corpus(folder).ask(question)
    assert (answer.status, answer.passages[0].id) == ("answered", passage)


@pytest.mark.parametrize(
    "question",
    ["\x00\x01\x02", "💪🔥😣", "腰大肌が痛い", "?!?!", "the and of"],
    ids=["control-only", "emoji-only", "other-script-only", "punctuation-only", "stopwords"],
)
def test_unanswerable_characters_are_no_match(tiny_assistant: Assistant, question: str) -> None:
    answer = tiny_assistant.ask(question)
    assert (answer.status, answer.passages, answer.disclaimer) == ("no_match", (), DISCLAIMER)


def test_to_dict(tiny_assistant: Assistant) -> None:
    answer = tiny_assistant.ask("lantern glow", k=1)
    data = answer.to_dict()
    assert list(data) == [
        "question",
        "status",
        "urgent",
        "notice",
        "passages",
        "disclaimer",
        "scope",
    ]
    score = data["passages"][0]["score"]
    assert score == round(answer.passages[0].score, 4) > 0
    assert data == {
        "question": "lantern glow",
        "status": "answered",
        "urgent": False,
        "notice": None,
        "passages": [
            {
                "rank": 1,
                "id": "lantern#0",
                "doc_id": "lantern",
                "title": "Lantern Breathing Basics",
                "section": "Lantern Breath",
                "text": (
                    "Breathe in while you picture a lantern glowing low in the belly. "
                    "Breathe out slowly and let the glow fade."
                ),
                "score": score,
                "citation": "Lantern Breathing Basics › Lantern Breath",
            }
        ],
        "disclaimer": DISCLAIMER,
        "scope": {
            "covered": True,
            "reason": "the question is about 'lantern', 'glow'",
            "topic": ["lantern", "glow"],
            "off_topic": [],
        },
    }


def test_sources(tiny_assistant: Assistant) -> None:
    assert tiny_assistant.sources() == (
        Source(
            "accordion",
            "The Accordion Stretch",
            "accordion-source.txt",
            3,
            "https://example.org/accordion",
            "Ada Lovelace",
        ),
        Source("lantern", "Lantern Breathing Basics", "lantern-source.txt", 2),
        Source("notes/pebble", "Pebble Walking", "pebble.txt", 2),
    )
    assert tiny_assistant.sources()[0].to_dict() == {
        "doc_id": "accordion",
        "title": "The Accordion Stretch",
        "source": "accordion-source.txt",
        "passages": 3,
        "url": "https://example.org/accordion",
        "author": "Ada Lovelace",
    }


def test_from_documents(tiny_corpus: Path) -> None:
    from psoasbot.corpus import load_corpus

    assistant = Assistant.from_documents(load_corpus(tiny_corpus))
    assert [s.doc_id for s in assistant.sources()] == ["accordion", "lantern", "notes/pebble"]
    assert assistant.ask("lantern glow").passages[0].id == "lantern#0"


def test_triage_can_be_turned_off(tiny_assistant: Assistant) -> None:
    question = "since this morning I can't pee and my back hurts"
    assert tiny_assistant.ask(question).urgent is True
    untriaged = Assistant(tiny_assistant.index, tiny_assistant.sources(), triage=False)
    answer = untriaged.ask(question)
    assert (answer.status, answer.urgent, answer.notice) == ("answered", False, None)
