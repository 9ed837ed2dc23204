"""Red-flag triage: spot messages that describe emergency warning signs, before retrieval.

The patterns are reviewed data (`data/red_flags.txt`); this module reads them and applies
them with two rules of its own: a match preceded by a negation in its clause ("no fever",
"I haven't lost control of my bladder") does not count, and a rule's `unless` pattern in
the same sentence cancels it ("numb bum after a long bike ride").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from psoasbot.analysis import normalize

# Scanning is linear in the message, but a message longer than this is not a description
# of symptoms; its start is scanned. (NFKC can expand a character 18-fold, so this also
# bounds the worst case: 100,000 characters of U+FDFA take ~0.1 s instead of ~0.4 s.)
MAX_TRIAGE_CHARS = 5_000

_NEGATIONS = frozenset(
    """no not never without dont don't didnt didn't doesnt doesn't havent haven't hasnt
    hasn't hadnt hadn't isnt isn't arent aren't wasnt wasn't werent weren't wont won't
    neither nor denies deny denied nothing free""".split()
)
# How many words before a match are searched for a negation, within the same clause.
_NEGATION_WINDOW = 4
_CLAUSE_BREAK = re.compile(r"[.!?;:,\n]|\bbut\b|\bthough\b|\balthough\b|\bhowever\b")
_SENTENCE_BREAK = re.compile(r"[.!?\n]")
_WORD = re.compile(r"[a-z']+")


@dataclass(frozen=True)
class Rule:
    """A red flag: any `match` pattern (with `context` somewhere, no `unless` near) fires it.

    `quick` holds, for each `match` pattern that starts with a word boundary, the same
    pattern without it: a match of the whole is a match of the rest, so where the rest
    finds nothing the whole cannot either, and the rest is found several times faster
    (Python's `re` skips ahead to the first letters it can start with, which a leading
    `\b` prevents).
    """

    name: str
    reason: str
    match: tuple[re.Pattern[str], ...]
    context: tuple[re.Pattern[str], ...] = ()
    unless: tuple[re.Pattern[str], ...] = ()
    quick: tuple[re.Pattern[str] | None, ...] = ()

    def __post_init__(self) -> None:
        if not self.quick:
            object.__setattr__(self, "quick", tuple(_without_boundary(p) for p in self.match))


def _without_boundary(pattern: re.Pattern[str]) -> re.Pattern[str] | None:
    if not pattern.pattern.startswith(r"\b"):
        return None
    try:
        return re.compile(pattern.pattern[2:], pattern.flags)
    except re.error:
        return None


@dataclass(frozen=True)
class Finding:
    """One red flag found in a message: which rule, and the words that matched."""

    rule: str
    reason: str
    evidence: str


class RedFlagFileError(ValueError):
    """The red-flag pattern file is malformed (a packaging error, not a user error)."""


def parse_rules(text: str, name: str = "red_flags.txt") -> tuple[Rule, ...]:
    """Parse the red-flag pattern format; errors name the line."""
    rules: list[Rule] = []
    current: dict[str, list[str]] | None = None
    rule_name = ""

    def close() -> None:
        if current is None:
            return
        if not current["reason"] or not current["match"]:
            raise RedFlagFileError(f"{name}: rule [{rule_name}] needs a reason and a match")
        rules.append(
            Rule(
                rule_name,
                current["reason"][0],
                tuple(re.compile(p) for p in current["match"]),
                tuple(re.compile(p) for p in current["context"]),
                tuple(re.compile(p) for p in current["unless"]),
            )
        )

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            close()
            rule_name = line[1:-1].strip()
            current = {"reason": [], "match": [], "context": [], "unless": []}
            continue
        key, sep, value = line.partition(":")
        key = key.strip()
        if current is None or not sep or key not in current:
            raise RedFlagFileError(f"{name} line {number}: expected '[rule]' or 'key: value'")
        try:
            re.compile(value.strip())
        except re.error as exc:
            raise RedFlagFileError(f"{name} line {number}: bad pattern ({exc})") from exc
        current[key].append(value.strip())
    close()
    return tuple(rules)


@lru_cache(maxsize=1)
def default_rules() -> tuple[Rule, ...]:
    """Return the shipped red-flag rules."""
    text = resources.files("psoasbot").joinpath("data/red_flags.txt").read_text("utf-8")
    return parse_rules(text)


def find_red_flags(message: str, rules: tuple[Rule, ...] | None = None) -> list[Finding]:
    """Return the red flags a message describes, one finding per rule, in rule order."""
    text = normalize(message[:MAX_TRIAGE_CHARS])
    findings = []
    for rule in default_rules() if rules is None else rules:
        if rule.context and not any(p.search(text) for p in rule.context):
            continue
        evidence = _first_affirmed_match(rule, text)
        if evidence is not None:
            findings.append(Finding(rule.name, rule.reason, evidence))
    return findings


def _first_affirmed_match(rule: Rule, text: str) -> str | None:
    for pattern, quick in zip(rule.match, rule.quick, strict=True):
        if quick is not None and quick.search(text) is None:
            continue
        for match in pattern.finditer(text):
            if _negated(text, match.start()):
                continue
            if rule.unless and _sentence_has(text, match.start(), match.end(), rule.unless):
                continue
            return match.group(0)
    return None


def _negated(text: str, start: int) -> bool:
    """Tell whether a negation stands in the few words before `start`, in its clause."""
    window = text[max(0, start - 60) : start]
    breaks = list(_CLAUSE_BREAK.finditer(window))
    if breaks:
        window = window[breaks[-1].end() :]
    words = _WORD.findall(window)[-_NEGATION_WINDOW:]
    return any(w in _NEGATIONS for w in words)


def _sentence_has(text: str, start: int, end: int, patterns: tuple[re.Pattern[str], ...]) -> bool:
    left = max(
        (m.end() for m in _SENTENCE_BREAK.finditer(text, max(0, start - 300), start)),
        default=max(0, start - 300),
    )
    right_match = _SENTENCE_BREAK.search(text, end, end + 300)
    right = right_match.start() if right_match else min(len(text), end + 300)
    sentence = text[left:right]
    return any(p.search(sentence) for p in patterns)
