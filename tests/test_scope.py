"""scope.py: a question is covered when it is about what the articles cover, and says why."""

from __future__ import annotations

import math
import re
from importlib import resources

import pytest

from psoasbot import DISCLAIMER, Assistant, ScopeSettings
from psoasbot.analysis import Analyzer
from psoasbot.answer import NO_MATCH_NOTICE
from psoasbot.corpus import builtin_corpus_path
from psoasbot.lexicon import (
    NOT_OFF_TOPIC,
    OFF_TOPIC_CATEGORIES,
    default_lexicon,
    default_off_topic,
    parse_entries,
)
from psoasbot.models import Verdict
from psoasbot.scope import Scope


@pytest.fixture(scope="module")
def assistant() -> Assistant:
    return Assistant.from_corpus(semantic=False)


def judge(assistant: Assistant, question: str, settings: ScopeSettings | None = None) -> Verdict:
    query = assistant.retriever.query(question)
    hits = assistant.retriever.retrieve(query, 3)
    return Scope(assistant.index, assistant.vocabulary, settings).judge(query, hits)


# --- in scope however it is worded ------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    [
        "psoas",
        "what is the psoas muscle",
        "where is the psoas",
        "my hip hurts",
        "wat is the psoas musle",
        "how do I stretch my psoas when I sit at a desk all day? (3)",
        "Hi, my physio said my psoas is tight. I do the kneeling stretch every day but it "
        "keeps coming back. Is there something else I can try?",
        "hip flexers tight after my 10k on saturday, anything I can do??",
        "I was prescribed ibuprofen last year. Which psoas stretch is the gentlest?",
    ],
    ids=[
        "one-word",
        "what-is",
        "where-is",
        "lay-words",
        "typos",
        "number",
        "story",
        "unknown-words",
        "off-topic-in-the-story",
    ],
)
def test_a_question_about_the_subject_is_covered(assistant: Assistant, question: str) -> None:
    answer = assistant.ask(question)
    assert answer.status == "answered"
    assert answer.verdict is not None and answer.verdict.covered


def test_unknown_words_are_no_penalty(tiny_assistant: Assistant) -> None:
    plain = judge(tiny_assistant, "lantern glow")
    padded = judge(tiny_assistant, "zqxjv lantern glow flurbish 1234, thanks!")
    assert (
        plain
        == padded
        == Verdict(True, "the question is about 'lantern', 'glow'", ("lantern", "glow"))
    )


# --- out of scope, even when it shares words with the articles -----------------------------


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        (
            "How much ibuprofen can I safely take for my back pain?",
            "the question asks about ibuprofen (medication), which the articles don't cover",
        ),
        (
            "is a psoas stretch ok 6 weeks after a hip replacement?",
            "the question asks about hip replacement (procedure), which the articles don't cover",
        ),
        (
            "what's a good neck stretch?",
            "the question asks about neck stretch (fitness other), which the articles don't cover",
        ),
        (
            "does my dog have tight hips?",
            "the question asks about dog (animal), which the articles don't cover",
        ),
        (
            "how much does a lumbar MRI cost?",
            "the question asks about mri (test), cost (admin), which the articles don't cover",
        ),
        (
            "whats a good recipe for banana bread",
            "the question asks about recipe (diet), banana (diet), bread (diet), which the "
            "articles don't cover",
        ),
    ],
    ids=["medication", "surgery", "neck", "dog", "mri-price", "banana-bread"],
)
def test_an_off_topic_subject_in_the_asking_sentence_is_not_covered(
    assistant: Assistant, question: str, reason: str
) -> None:
    answer = assistant.ask(question)
    assert (answer.status, answer.passages) == ("no_match", ())
    assert answer.verdict is not None and answer.verdict.reason == reason


def test_a_pose_named_after_an_animal_is_not_about_animals(assistant: Assistant) -> None:
    verdict = judge(assistant, "is downward dog good for a tight psoas?")
    assert (verdict.covered, verdict.off_topic) == (True, ())


def test_a_question_naming_nothing_topical_is_not_covered(assistant: Assistant) -> None:
    verdict = judge(assistant, "What day is it today?")
    assert verdict.covered is False
    assert verdict.reason == (
        "the question is not about the articles' subject: its most topical word, 'today', is "
        "hardly more common in the articles than in everyday English"
    )


def test_no_candidate_is_not_covered(tiny_assistant: Assistant) -> None:
    assert judge(tiny_assistant, "zqxjv flurbish") == Verdict(
        False, "no passage shares a word with the question"
    )


def test_the_topicality_threshold_decides(tiny_assistant: Assistant) -> None:
    topicality = judge(tiny_assistant, "lantern").topicality
    below = ScopeSettings(min_topicality=topicality + 0.01)
    at = ScopeSettings(min_topicality=topicality)
    assert judge(tiny_assistant, "lantern", at).covered is True
    verdict = judge(tiny_assistant, "lantern", below)
    assert verdict.covered is False
    assert verdict.reason == (
        "the question is not about the articles' subject: its most topical word, 'lantern', "
        "is hardly more common in the articles than in everyday English"
    )


def test_the_off_topic_list_can_be_turned_off(assistant: Assistant) -> None:
    question = "How much ibuprofen can I safely take for my back pain?"
    verdict = judge(assistant, question, ScopeSettings(off_topic=False))
    assert (verdict.covered, verdict.off_topic) == (True, ())


def test_no_match_says_so_and_lists_what_the_articles_cover(assistant: Assistant) -> None:
    answer = assistant.ask("Which mortgage lender has the lowest fees?")
    titles = "; ".join(source.title for source in assistant.sources())
    assert answer.status == "no_match"
    assert answer.notice == f"{NO_MATCH_NOTICE} They cover: {titles}."
    assert answer.disclaimer == DISCLAIMER
    assert answer.to_dict()["scope"]["covered"] is False


def test_a_broad_question_without_a_topic_word(assistant: Assistant) -> None:
    verdict = judge(assistant, "where is it?")
    assert verdict == Verdict(True, "the question asks about the articles' subject as a whole")
    assert judge(assistant, "?").covered is False


# --- the topicality of the articles' words ----------------------------------------------


def test_the_articles_words_are_more_topical_than_everyday_ones(assistant: Assistant) -> None:
    topicality = assistant.vocabulary.topicality_of
    analyzer = Analyzer()
    psoas, stretch, day = (analyzer.terms(w)[0] for w in ("psoas", "stretch", "day"))
    assert topicality(psoas) > topicality(stretch) > 1.0 > topicality(day)
    assert topicality("zqxjv") == -math.inf


# --- the off-topic list's review rule, on every phrase -----------------------------------


def corpus_term_runs() -> str:
    """The terms of every corpus sentence, space-separated, one line each."""
    analyzer = Analyzer()
    lines = []
    for file in builtin_corpus_path().glob("*.md"):
        for line in file.read_text("utf-8").splitlines():
            lines.append(" " + " ".join(analyzer.terms(line)) + " ")
    return "\n".join(lines)


# Phrases the articles use in passing, kept on purpose (each with its reason in the file).
USED_IN_PASSING = {"recipe", "recipes"}


def test_no_off_topic_phrase_is_what_the_articles_say() -> None:
    analyzer = Analyzer()
    text = resources.files("psoasbot").joinpath("data/off_topic.tsv").read_text("utf-8")
    runs = corpus_term_runs()
    found = {
        phrase
        for entry in parse_entries(text, "off_topic.tsv", OFF_TOPIC_CATEGORIES, with_terms=False)
        if entry.category != NOT_OFF_TOPIC
        for phrase in entry.phrases
        if analyzer.terms(phrase)
        and re.search(" " + re.escape(" ".join(analyzer.terms(phrase))) + " ", runs)
    }
    assert found == USED_IN_PASSING


def test_no_off_topic_phrase_is_a_lay_phrase_of_the_lexicon() -> None:
    analyzer = Analyzer()
    table = default_off_topic()
    clashes = {
        phrase
        for entry in default_lexicon().entries
        for phrase in entry.phrases
        if (subject := table.get(analyzer.terms(phrase))) and subject.category != NOT_OFF_TOPIC
    }
    assert clashes == set()


def test_the_off_topic_file_has_every_category() -> None:
    table = default_off_topic()
    assert {subject.category for subject in table.values()} == OFF_TOPIC_CATEGORIES
    assert len(table) > 1500
