"""The lay-term lexicon: its review rule, what its phrases expand to, and what they leave alone."""

from __future__ import annotations

import re

import pytest

from psoasbot import Assistant
from psoasbot.analysis import Analyzer
from psoasbot.corpus import builtin_corpus_path
from psoasbot.lexicon import Lexicon, LexiconFileError, default_lexicon, parse_entries

# A lay phrase that shrinks to one term found in more than this share of the built-in
# articles' passages would fire on ordinary questions about that word ("bad back" is just
# "back", since "bad" is a stopword).
COMMON_SHARE = 0.05

# Words every article is about: an expansion to them would match everything.
EVERYWHERE = ("muscle", "pain", "back", "hurt", "help")


@pytest.fixture(scope="module")
def assistant() -> Assistant:
    return Assistant.from_corpus(semantic=False)


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer()


def test_lexicon_bridges_everyday_words(assistant: Assistant) -> None:
    weight = assistant.retriever.settings.expansion_weight
    groups = assistant.retriever.query(
        "my hip flexor gets pins and needles and I can't poop"
    ).groups
    assert groups["hip"] == {"hip": 1.0, "psoa": weight, "iliopsoa": weight}
    assert groups["flexor"] == {"flexor": 1.0, "psoa": weight, "iliopsoa": weight}
    assert {"tingl", "numb"} <= set(groups["pin"]) and groups["pin"]["tingl"] == weight
    assert "constip" in groups["poop"]


# Each case: a question, and the lay phrases in it with the article words each stands for.
# The whole expansion of the question must be exactly that.
EXPANSIONS = {
    "anatomy": [
        (
            "my bum cheeks ache after a long drive",
            {"bum cheeks": "buttocks butt", "long drive": "car sitting"},
        ),
        ("a dull ache at the base of my spine", {"base of my spine": "lumbar low"}),
        ("is the disc at L4 affected?", {"l4": "lumbar vertebrae"}),
        ("my quads feel tight after running", {"quads": "thigh front"}),
        (
            "a pinch in my hip crease when I lift my knee",
            {"hip crease": "groin", "lift my knee": "hip flexion lift"},
        ),
    ],
    "symptom": [
        ("I get a niggle in my hip when I run", {"niggle": "ache aching"}),
        ("my foot goes dead when I sit", {"goes dead": "numbness tingling"}),
        ("the pain keeps coming back", {"keeps coming back": "recurring"}),
        ("I woke up with a charley horse in my thigh", {"charley horse": "spasms"}),
        ("my hips are not supple any more", {"supple": "stiffness flexibility"}),
        ("a sharp twinge in my groin", {"twinge": "sharp"}),
    ],
    "condition": [
        ("can radiculopathy come from a tight psoas?", {"radiculopathy": "sciatica"}),
        ("the scan showed a disc protrusion", {"disc protrusion": "herniated disc"}),
        ("what is lower crossed syndrome?", {"lower crossed syndrome": "imbalance anterior tilt"}),
        ("my hip is lopsided", {"lopsided": "imbalance imbalances"}),
    ],
    "activity": [
        ("I'm a delivery driver", {"delivery driver": "car sitting"}),
        ("does pedalling use the psoas?", {"pedalling": "cycling bike"}),
        ("are arabesques bad for the psoas?", {"arabesques": "ballet leg lifts"}),
        ("I'm always carrying my toddler", {"carrying my toddler": "lift heavy objects"}),
        ("should I do a hip hinge?", {"hip hinge": "forward bends bending"}),
    ],
    "treatment": [
        (
            "would a sports massage loosen it?",
            {"sports massage": "massage therapist", "loosen": "release relax"},
        ),
        (
            "is progressive muscle relaxation the same thing?",
            {"progressive muscle relaxation": "contract release contraction"},
        ),
        ("should I lie on a psoas ball?", {"psoas ball": "massage release"}),
        ("how do I calm my nerves?", {"calm my nerves": "calm nervous system"}),
        (
            "is foam rolling as good as a physio?",
            {"foam rolling": "massage release", "physio": "therapist therapy"},
        ),
    ],
    "cause": [
        ("could burnout make my psoas tight?", {"burnout": "stress"}),
        (
            "I overdid it at parkrun",
            {"overdid": "overuse repetitive", "parkrun": "running jogging"},
        ),
        ("my psoas tightens when I'm scared", {"tightens": "tension tightness", "scared": "fear"}),
        ("I'm glued to my desk", {"glued to my desk": "sedentary active"}),
    ],
    "general": [
        ("how often should I stretch?", {"how often should i stretch": "frequency regularly"}),
        ("do I hold it for thirty secs?", {"thirty": "30", "secs": "seconds"}),
        ("how many minutes of constructive rest?", {"how many minutes": "duration"}),
        ("whereabouts is the psoas?", {"whereabouts": "located location"}),
        ("what is the purpose of the psoas?", {"purpose": "function role"}),
        ("is stretching just a quick fix?", {"quick fix": "temporary temporarily"}),
    ],
}
EXPANSION_CASES = [case for cases in EXPANSIONS.values() for case in cases]
EXPANSION_IDS = [
    f"{category}-{n}" for category, cases in EXPANSIONS.items() for n in range(len(cases))
]


@pytest.mark.parametrize(("question", "phrases"), EXPANSION_CASES, ids=EXPANSION_IDS)
def test_lay_phrases_expand_to_their_article_terms(
    analyzer: Analyzer, question: str, phrases: dict[str, str]
) -> None:
    expected: dict[str, set[str]] = {}
    for phrase, article_words in phrases.items():
        key = analyzer.terms(phrase)
        for term in key:
            expected[term] = set(analyzer.terms(article_words)) - set(key)
    assert default_lexicon().expand(analyzer.terms(question)) == expected


@pytest.mark.parametrize(
    "question",
    [
        "is it safe to take ibuprofen every day?",
        "how often should I take naproxen?",
        "can I take paracetamol twice a day?",
        "are painkillers or muscle relaxants better for sciatica?",
        "do statins cause muscle aches?",
        "should I get a flu vaccine?",
        "does a cortisone injection hurt?",
        "what does surgery for a torn ACL involve?",
        "is a hip replacement worth it?",
        "do I need an MRI or an x-ray?",
        "should I get a blood test?",
        "what does a neck stretch do for a headache?",
        "why does my wrist hurt when I type?",
        "what is tennis elbow?",
        "why do my calves cramp at night?",
        "my jaw clicks when I chew",
        "how long should I walk my dog?",
        "what should I feed my cat?",
    ],
    ids=[
        "ibuprofen",
        "naproxen",
        "paracetamol",
        "painkillers",
        "statins",
        "vaccine",
        "injection",
        "surgery",
        "hip-replacement",
        "imaging",
        "blood-test",
        "neck",
        "wrist",
        "elbow",
        "calves",
        "jaw",
        "dog",
        "cat",
    ],
)
def test_lexicon_leaves_unrelated_topics_alone(analyzer: Analyzer, question: str) -> None:
    assert default_lexicon().expand(analyzer.terms(question)) == {}


# --- the review rule, checked on every entry ------------------------------------------


def test_every_article_term_of_the_lexicon_occurs_in_the_corpus(analyzer: Analyzer) -> None:
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
    assert len(lexicon) >= 250


def test_no_lay_phrase_is_in_two_entries(analyzer: Analyzer) -> None:
    seen: dict[tuple[str, ...], int] = {}
    for entry in default_lexicon().entries:
        for phrase in entry.phrases:
            key = tuple(analyzer.terms(phrase))
            assert key, f"line {entry.line}: {phrase!r} is only stopwords"
            assert seen.setdefault(key, entry.line) == entry.line, (
                f"line {entry.line}: {phrase!r} repeats line {seen[key]}"
            )


def test_no_lay_phrase_shrinks_to_one_common_article_word(
    assistant: Assistant, analyzer: Analyzer
) -> None:
    passages = assistant.index.passages
    counts: dict[str, int] = {}
    for passage in passages:
        for term in set(analyzer.terms(passage.text)):
            counts[term] = counts.get(term, 0) + 1
    too_common = {
        (entry.line, phrase)
        for entry in default_lexicon().entries
        for phrase in entry.phrases
        if len(key := analyzer.terms(phrase)) == 1
        and counts.get(key[0], 0) > COMMON_SHARE * len(passages)
    }
    assert too_common == set()


def test_no_entry_expands_to_words_found_everywhere(analyzer: Analyzer) -> None:
    everywhere = set(analyzer.terms(" ".join(EVERYWHERE)))
    found = {
        (entry.line, term)
        for entry in default_lexicon().entries
        for term in analyzer.terms(" ".join(entry.terms))
        if term in everywhere
    }
    assert found == set()


def test_every_lay_phrase_adds_an_article_term(analyzer: Analyzer) -> None:
    useless = {
        (entry.line, phrase)
        for entry in default_lexicon().entries
        for phrase in entry.phrases
        if set(analyzer.terms(" ".join(entry.terms))) <= set(analyzer.terms(phrase))
    }
    assert useless == set()


# --- the mechanism --------------------------------------------------------------------


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
        ("anatomy\t|\tpsoas", "line 1: needs phrases and article terms"),
    ],
    ids=["columns", "category", "empty"],
)
def test_malformed_lexicon_lines_are_named(text: str, error: str) -> None:
    with pytest.raises(LexiconFileError, match=re.escape(error)):
        parse_entries(text)
