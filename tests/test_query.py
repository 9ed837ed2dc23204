"""query.py: how a message is read: sentences, the asking part, spelling, breadth."""

from __future__ import annotations

from typing import Any

import pytest

from psoasbot import Assistant, QuerySettings
from psoasbot.query import Query, QueryBuilder, Sentence, split_sentences
from psoasbot.retrieval import Retriever


@pytest.fixture(scope="module")
def assistant() -> Assistant:
    return Assistant.from_corpus(semantic=False)


def build(assistant: Assistant, message: str, **settings: Any) -> Query:
    return QueryBuilder(assistant.index, assistant.vocabulary, QuerySettings(**settings)).build(
        message
    )


def test_query_weights_are_each_terms_highest_weight() -> None:
    query = Query.from_groups({"hip": {"hip": 1.0, "psoa": 0.5}, "psoa": {"psoa": 1.0}})
    assert query.weights == {"hip": 1.0, "psoa": 1.0}
    assert Query.from_groups({}).weights == {}


@pytest.mark.parametrize(
    ("message", "sentences"),
    [
        ("one. two? three!", ["one.", "two?", "three!"]),
        ("no full stop at the end", ["no full stop at the end"]),
        ("first line\nsecond line", ["first line", "second line"]),
        ("e.g. this stays whole", ["e.g. this stays whole"]),
        ("  \n ", []),
    ],
)
def test_split_sentences(message: str, sentences: list[str]) -> None:
    assert split_sentences(message) == sentences


def test_each_sentence_is_known_to_ask_or_to_tell(assistant: Assistant) -> None:
    query = build(assistant, "My physio is lovely. Which stretch helps?", lexicon=False)
    assert query.sentences == (
        Sentence(("physio", "love"), False),
        Sentence(("stretch",), True),
    )
    assert query.asking_terms == [("stretch",)]
    # the story and the question weigh alike in the ranking
    assert query.weights == {"physio": 1.0, "love": 1.0, "stretch": 1.0}


def test_a_message_that_asks_nowhere_is_all_question(assistant: Assistant) -> None:
    query = build(assistant, "psoas attachment points. lower back")
    assert all(sentence.asking for sentence in query.sentences)


@pytest.mark.parametrize(
    "sentence",
    ["how do I stretch", "Can I run?", "explain the psoas", "the psoas is what?"],
)
def test_a_question_word_first_or_a_question_mark_asks(assistant: Assistant, sentence: str) -> None:
    query = build(assistant, "I sit all day. " + sentence, lexicon=False)
    assert [s.asking for s in query.sentences] == [False, True]


def test_misspellings_are_read_as_the_articles_words(assistant: Assistant) -> None:
    query = build(assistant, "wat is the psoas musle and how do I stretchng it")
    assert query.corrections == {"musle": "muscle", "stretchng": "stretching"}
    assert {"psoa", "muscl", "stretch"} <= set(query.weights)
    assert query.words["muscl"] == "muscle"


def test_spelling_can_be_turned_off(assistant: Assistant) -> None:
    query = build(assistant, "musle", spelling=False)
    assert (query.corrections, list(query.weights)) == ({}, ["musl"])


@pytest.mark.parametrize(
    ("message", "broad"),
    [
        ("psoas", True),
        ("what is the psoas muscle?", True),
        ("what are hip flexors", True),
        ("where is it?", True),
        ("what does it do", True),
        ("my hip hurts", False),
        ("kneeling psoas stretch", False),
        ("?", False),
        ("thanks", False),
    ],
)
def test_a_question_naming_only_the_subject_is_broad(
    assistant: Assistant, message: str, broad: bool
) -> None:
    assert build(assistant, message).broad is broad


def test_a_broad_question_without_words_asks_for_the_subject(assistant: Assistant) -> None:
    query = build(assistant, "where is it?")
    assert query.weights == {"muscl": 1.0, "psoa": 1.0}


def test_a_broad_question_gets_the_sections_that_introduce_the_subject(
    assistant: Assistant,
) -> None:
    for question in ("psoas", "what is the psoas?", "tell me about the psoas muscle"):
        top = assistant.ask(question).passages[0].passage
        assert top.section in {"What Is the Psoas Muscle?", "Understanding the Psoas Muscle"}
    plain = Assistant(assistant.index, query_settings=QuerySettings(overview=False))
    assert plain.ask("psoas").passages[0].passage.section == "Standing Psoas Stretch"


def test_the_retriever_reads_questions_with_its_builder(assistant: Assistant) -> None:
    retriever = Retriever(assistant.index, QuerySettings(lexicon=False), assistant.vocabulary)
    assert retriever.query("kneel").weights == {"kneel": 1.0}
