"""Answer quality and safety: dev-set targets, the lexicon, confidence, triage in answers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from psoasbot import DISCLAIMER, Assistant, QuerySettings, ScopeSettings
from psoasbot.analysis import Analyzer
from psoasbot.answer import NO_MATCH_NOTICE
from psoasbot.corpus import builtin_corpus_path
from psoasbot.evaluation import contains, evaluate, load_items
from psoasbot.lexicon import Lexicon, LexiconFileError, default_lexicon, parse_entries
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


# --- the lexicon --------------------------------------------------------------------


def test_lexicon_bridges_everyday_words(assistant: Assistant) -> None:
    question = "my hip flexor gets pins and needles and I can't poop"
    groups = assistant.retriever.query(question).groups
    assert groups["hip"] == {"hip": 1.0, "psoa": 0.5, "iliopsoa": 0.5}
    assert groups["flexor"] == {"flexor": 1.0, "psoa": 0.5, "iliopsoa": 0.5}
    assert {"tingl", "numb"} <= set(groups["pin"]) and groups["pin"]["tingl"] == 0.5
    assert "constip" in groups["poop"]


@pytest.mark.parametrize(
    "question",
    [
        "is it safe to take ibuprofen every day?",
        "should I get a flu vaccine?",
        "what does surgery for a torn ACL involve?",
    ],
    ids=["medication", "vaccine", "surgery"],
)
def test_lexicon_leaves_unrelated_topics_alone(assistant: Assistant, question: str) -> None:
    groups = assistant.retriever.query(question).groups
    assert all(set(alternatives) == {term} for term, alternatives in groups.items())


def test_every_article_term_of_the_lexicon_occurs_in_the_corpus() -> None:
    analyzer = Analyzer()
    corpus_terms: set[str] = set()
    for file in builtin_corpus_path().glob("*.md"):
        corpus_terms.update(analyzer.terms(file.read_text("utf-8")))
    lexicon = default_lexicon()
    missing = {
        (entry.line, term)
        for entry in lexicon.entries
        for term in analyzer.terms(" ".join(entry.terms))
        if term not in corpus_terms
    }
    assert missing == set()
    assert len(lexicon) >= 150


def test_no_lay_phrase_is_in_two_entries() -> None:
    analyzer = Analyzer()
    seen: dict[tuple[str, ...], int] = {}
    for entry in default_lexicon().entries:
        for phrase in entry.phrases:
            key = tuple(analyzer.terms(phrase))
            assert key, f"line {entry.line}: {phrase!r} is only stopwords"
            assert seen.setdefault(key, entry.line) == entry.line, (
                f"line {entry.line}: {phrase!r} repeats line {seen[key]}"
            )


def test_longest_phrase_wins_and_expansions_skip_the_phrase_itself() -> None:
    text = "anatomy\tlow back|lower back\tlumbar\nanatomy\tback\tspine\n"
    lexicon = Lexicon(parse_entries(text), Analyzer())
    assert lexicon.expand(["lower", "back", "pain"]) == {"lower": {"lumbar"}, "back": {"lumbar"}}
    assert lexicon.expand(["back", "lower", "back"]) == {
        "back": {"spine", "lumbar"},
        "lower": {"lumbar"},
    }
    assert lexicon.expand(["my", "back"]) == {"back": {"spine"}}
    assert lexicon.expand(["pain"]) == {}


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("anatomy\thip flexor", "line 1: expected 3 tab-separated columns, found 2"),
        ("# c\nbody\thip\tpsoas", "line 2: unknown category 'body'"),
        ("anatomy\t|\tpsoas", "line 1: needs lay phrases and article terms"),
    ],
    ids=["columns", "category", "empty"],
)
def test_malformed_lexicon_lines_are_named(text: str, error: str) -> None:
    with pytest.raises(LexiconFileError, match=re.escape(error)):
        parse_entries(text)


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


def test_red_flag_leads_the_answer(assistant: Assistant) -> None:
    answer = assistant.ask("my back hurts and since this morning I can't pee, which stretch helps?")
    assert answer.urgent is True
    assert answer.notice is not None
    assert answer.notice.startswith("Get medical help now. Your message mentions new loss of")
    assert "call your local emergency number" in answer.notice
    assert answer.disclaimer == DISCLAIMER
    text = to_text(answer)
    assert text.startswith("Get medical help now.")
    if answer.passages:
        assert text.index("Get medical help now.") < text.index("1. ")
    assert answer.to_dict()["urgent"] is True


def test_red_flag_without_a_matching_passage_is_still_urgent(assistant: Assistant) -> None:
    answer = assistant.ask("I have a fever of 39C and my back hurts")
    assert answer.urgent is True
    assert answer.status == "no_match"
    assert answer.notice is not None
    assert answer.notice.startswith(
        "Get medical help now. Your message mentions back or hip pain with a fever."
    )
    assert answer.notice.endswith(
        NO_MATCH_NOTICE + " They cover: " + "; ".join(s.title for s in assistant.sources()) + "."
    )


def test_ordinary_question_is_not_urgent(assistant: Assistant) -> None:
    answer = assistant.ask("can sitting all day make my hip flexors tight?")
    assert answer.urgent is False
    assert answer.status == "answered"
    assert answer.notice is None
