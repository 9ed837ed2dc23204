"""Red-flag triage, case by case: its own cases, apart from the dev set."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from psoasbot.triage import RedFlagFileError, Rule, default_rules, find_red_flags, parse_rules

POSITIVE = [
    # cauda equina: bladder and bowel
    ("I've lost control of my bladder since yesterday and my back hurts", "bladder_bowel"),
    ("back pain and loss of bowel control", "bladder_bowel"),
    ("sciatica in both legs and I can't pee properly", "bladder_bowel"),
    ("I'm unable to urinate and my lower back is killing me", "bladder_bowel"),
    ("I wet myself this morning without noticing, and my back is agony", "bladder_bowel"),
    ("I can’t hold my bladder any more and my hip flexor aches", "bladder_bowel"),
    ("I don't feel when I need to pee anymore", "bladder_bowel"),
    ("new bladder incontinence with low back pain", "bladder_bowel"),
    # cauda equina: saddle numbness
    ("my groin has gone numb and my back aches", "saddle_numbness"),
    ("numbness around my genitals and bottom since I lifted a box", "saddle_numbness"),
    ("there's no feeling down there when I wipe", "saddle_numbness"),
    ("I have pins and needles between my legs and low back pain", "saddle_numbness"),
    ("Numb saddle area after my back went", "saddle_numbness"),
    # cauda equina: progressive or bilateral leg weakness
    ("my legs are getting weaker every day", "leg_weakness"),
    ("numbness in both legs and back pain", "leg_weakness"),
    ("both legs feel weak and my back hurts", "leg_weakness"),
    ("my left foot drags when I walk", "leg_weakness"),
    ("I keep tripping, I think I have foot drop", "leg_weakness"),
    ("the weakness in my leg keeps getting worse", "leg_weakness"),
    ("my knees keep giving way since my back pain started", "leg_weakness"),
    # infection
    ("lower back pain with a fever", "fever"),
    ("my temperature is 38.5 C and my hip and groin really hurt", "fever"),
    ("chills and night sweats with pain in my lower back", "fever"),
    ("feverish, and my psoas area is agony", "fever"),
    # trauma
    ("I was in a car accident yesterday and now my back hurts", "trauma"),
    ("fell down the stairs last night, my hip is really painful", "trauma"),
    ("I came off my bike and landed on my back", "trauma"),
    ("Got hit by a car on Monday, my lower back is sore", "trauma"),
    ("had a bad fall at work and my pelvis hurts", "trauma"),
    # cancer, weight loss
    ("I'm being treated for prostate cancer and my back hurts", "cancer"),
    ("history of breast cancer, new hip pain", "cancer"),
    ("back pain and I've lost a lot of weight without trying", "cancer"),
    ("unexplained weight loss and a dull ache in my lower back", "cancer"),
    # chest pain
    ("I have chest pain and my back hurts between the shoulder blades", "chest_pain"),
    ("crushing pressure in my chest when I stretch", "chest_pain"),
    ("my chest feels tight when I do the kneeling stretch", "chest_pain"),
]

NEGATIVE = [
    # negations
    "lower back pain but no fever",
    "I don't have a fever, just a tight hip flexor",
    "I haven't lost control of my bladder or anything, just a stiff back",
    "no numbness in the groin, only a tight psoas",
    "never had cancer, my back is just stiff from sitting",
    "no chest pain, just tightness in my hip",
    # symptoms the articles treat as ordinary
    "my legs tingle when I sit for a long time",
    "Can a tight psoas give you pins and needles in your legs?",
    "numbness and tingling down one leg after sitting",
    "my leg feels numb after a long drive",
    "pain in my groin when I lift my knee",
    "my hips and buttocks ache after running",
    # ambiguous words without body context
    "my saddle makes my bum numb on long bike rides",
    "my arm goes numb when I sleep on it",
    "my bike saddle is uncomfortable, any stretches for cycling?",
    "I had a fever last week, is the flu vaccine worth it?",
    "what temperature should a bath be for muscle relaxation?",
    # trauma long ago
    "I had a car accident years ago and my psoas has been tight ever since",
    # ordinary questions
    "why doesn't stretching help my psoas?",
    "can sitting all day cause a tight psoas?",
    "how do I do the kneeling stretch?",
    "Is it ok to bounce when I stretch?",
    "can being stressed out make my hip flexor tighten up?",
    "Does cycling weaken the psoas?",
    "my leg length seems uneven",
    "Can tight psoas muscles make you constipated?",
]


@pytest.mark.parametrize(("message", "rule"), POSITIVE, ids=[m for m, _ in POSITIVE])
def test_red_flag_is_found(message: str, rule: str) -> None:
    assert rule in [f.rule for f in find_red_flags(message)]


@pytest.mark.parametrize("message", NEGATIVE, ids=NEGATIVE)
def test_ordinary_message_is_not_flagged(message: str) -> None:
    assert find_red_flags(message) == []


def test_finding_says_which_words_matched() -> None:
    (finding,) = find_red_flags("Fever of 39C and back pain")
    assert finding.rule == "fever"
    assert finding.reason == "back or hip pain with a fever"
    assert finding.evidence == "fever"


def test_several_flags_are_all_reported_in_rule_order() -> None:
    rules = [
        f.rule
        for f in find_red_flags("fell off a ladder, my back hurts, I can't pee and I have a fever")
    ]
    assert rules == ["bladder_bowel", "fever", "trauma"]


def test_negation_only_covers_its_own_clause() -> None:
    assert [f.rule for f in find_red_flags("no fever, but I've lost control of my bowels")] == [
        "bladder_bowel"
    ]
    assert [f.rule for f in find_red_flags("no chest pain. My back hurts and I have a fever")] == [
        "fever"
    ]


def test_every_shipped_rule_has_a_reason_and_is_tested() -> None:
    rules = default_rules()
    assert [r.name for r in rules] == [
        "bladder_bowel",
        "saddle_numbness",
        "leg_weakness",
        "fever",
        "trauma",
        "cancer",
        "chest_pain",
    ]
    assert all(r.reason for r in rules)
    assert {rule for _, rule in POSITIVE} == {r.name for r in rules}


def test_huge_message_is_scanned_quickly_and_safely() -> None:
    message = "numb " * 20_000 + "back pain"
    assert find_red_flags(message) == []


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("match: x", "line 1: expected '[rule]' or 'key: value'"),
        ("[a]\nreason: r\nmatch: (", "line 3: bad pattern"),
        ("[a]\nreason: r", "rule [a] needs a reason and a match"),
        ("[a]\nreason: r\nmatch: x\nwhat: y", "line 4: expected '[rule]' or 'key: value'"),
    ],
    ids=["no-rule", "bad-regex", "no-match", "unknown-key"],
)
def test_malformed_rules_name_the_line(text: str, error: str) -> None:
    with pytest.raises(RedFlagFileError, match=error.replace("[", r"\[").replace("]", r"\]")):
        parse_rules(text)


def _slow_rules() -> tuple[Rule, ...]:
    """The shipped rules without their quick pre-checks: the reference behaviour."""
    return tuple(replace(rule, quick=(None,) * len(rule.match)) for rule in default_rules())


# Words and separators the rules are made of, so that generated messages often come close
# to matching, or match.
_WORDS = sorted(
    {w for rule in default_rules() for p in rule.match for w in re.findall(r"[a-z']+", p.pattern)}
    | {"back", "pain", "hip", "no", "not", "bike", "years", "ago", "but", "i", "my"}
)


def test_quick_pre_checks_are_made_for_word_boundary_patterns() -> None:
    rules = default_rules()
    assert all(q is not None for rule in rules for q in rule.quick)
    (rule,) = parse_rules("[x]\nreason: x\nmatch: \\bfoo\nmatch: (?<=a)b")
    assert rule.quick[0] is not None and rule.quick[0].pattern == "foo"
    assert rule.quick[1] is None


@pytest.mark.parametrize("message", [m for m, _ in POSITIVE] + NEGATIVE)
def test_quick_pre_checks_change_no_finding(message: str) -> None:
    assert find_red_flags(message) == find_red_flags(message, _slow_rules())


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(_WORDS), st.sampled_from([" ", " ", ", ", ". ", "-", "", "\n"])),
        max_size=30,
    )
)
def test_quick_pre_checks_change_no_finding_on_generated_messages(
    parts: list[tuple[str, str]],
) -> None:
    message = "".join(word + gap for word, gap in parts)
    assert find_red_flags(message) == find_red_flags(message, _slow_rules())
