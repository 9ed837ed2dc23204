"""Red-flag triage: spot messages that describe emergency warning signs, before retrieval.

What counts as a warning sign is reviewed data (`data/red_flags.txt`): *concepts*, each
with the many ways people say it ("numb", "can't feel anything", "no feeling"; "groin",
"down there", "between my legs"), and *rules* that combine concepts within a window (a few
words, a clause, a sentence, the message). This module reads that file and applies it:

- a concept's phrase counts unless a negation governs it ("no fever", "I haven't lost
  control of my bladder"), or one of the concept's `not` phrases covers it ("fell asleep",
  "chills down my spine");
- the occurrences a rule combines must be about one person: "my dad had cancer" and "my
  back hurts" are two people, "my dad had cancer" and "his back hurts" one;
- a rule's `unless` concept near its warning sign cancels it ("numb bum after a long bike
  ride", "a car crash years ago").

Matching is on word tokens, by dictionary look-up of each phrase's first word, so a
message is scanned in time linear in its length; no regular expression of the file
backtracks.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from psoasbot._red_flag_file import (
    Combination,
    Concept,
    Guard,
    Language,
    Phrase,
    Rule,
    Slot,
    Window,
    parse_file,
)
from psoasbot._red_flag_file import RedFlagFileError as RedFlagFileError  # re-exported
from psoasbot.analysis import normalize

# Scanning is linear in the message, but a message longer than this is not a description
# of symptoms; its start is scanned (before and after normalising).
MAX_TRIAGE_CHARS = 5_000

SELF, OTHER, NOBODY = 1, 2, 0


@dataclass(frozen=True)
class RuleSet:
    """The parsed red-flag file: the language, the concepts and the rules, in file order."""

    language: Language
    concepts: tuple[Concept, ...]
    rules: tuple[Rule, ...]
    _index: _PhraseIndex = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", _PhraseIndex(self.concepts, self.rules))

    def concept(self, name: str) -> Concept:
        """Return the concept of that name."""
        return next(c for c in self.concepts if c.name == name)


@dataclass(frozen=True)
class Finding:
    """One red flag found in a message: which rule, and the words that matched."""

    rule: str
    reason: str
    evidence: str


def parse_rules(text: str, name: str = "red_flags.txt") -> RuleSet:
    """Parse the red-flag file format (described at the top of the file); errors name the line.

    Raises:
        RedFlagFileError: a line that is not understood, a rule that names an unknown
            concept, a phrase that cannot be compiled; the message gives the line.
    """
    return RuleSet(*parse_file(text, name))


# --- reading a message ---------------------------------------------------------------------

# Numbers keep their decimals ("38.5"); an ellipsis or a dash between spaces ends a clause,
# like a comma; a full stop, "!", "?" or a line break ends a sentence.
_TOKEN = re.compile(
    r"(\d+(?:[.,]\d+)?)|([^\W\d_]+(?:'[^\W\d_]+)*)|(\.\.+)|([.!?]+|\n)|([,;:()\[\]]|\s-+\s)"
)


@dataclass
class _Text:
    """A message as word tokens, each with its place in segments, clauses and sentences.

    A segment ends at any punctuation; a phrase never crosses one. A clause also ends at
    a contrast word; a sentence at a full stop, "!", "?" or a line break.
    """

    text: str
    words: list[str]
    numbers: list[float | None]
    segment: list[int]
    clause: list[int]
    sentence: list[int]


def _read(message: str, language: Language) -> _Text:
    # NFKC can expand a character 18-fold ("\ufdfa" is four words): cut again after it.
    text = normalize(message[:MAX_TRIAGE_CHARS])[:MAX_TRIAGE_CHARS]
    read = _Text(text, [], [], [], [], [])
    segment = clause = sentence = 0
    for number, word, _ellipsis, stop, _comma in _TOKEN.findall(text):
        if number or word:
            token = number or word.replace("'", "")
            if token in language.contrasts:
                clause += 1
            read.words.append(token)
            read.numbers.append(float(number.replace(",", ".")) if number else None)
            read.segment.append(segment)
            read.clause.append(clause)
            read.sentence.append(sentence)
        else:
            segment += 1
            clause += 1
            if stop:
                sentence += 1
    return read


@dataclass(slots=True)
class _Occurrence:
    concept: str
    start: int
    end: int  # exclusive
    negated: bool = False
    owner: int = NOBODY


_Entry = tuple[str, Phrase, bool, int]  # (concept, phrase, is an exception, words checked)
_NUMBER = "#"  # the key of phrases that start with a number (no word token is "#")
_Key = str | tuple[str, str]  # a word, _NUMBER, or a word and the next (or _NUMBER)


class _PhraseIndex:
    """Each phrase of each concept under the keys it can start with.

    A phrase whose first two slots are fixed (a word, or a number) is filed under each
    pair of them, so that "my" leads only to the phrases that go on with the next word
    ("my back"), not to every phrase that starts with "my"; other phrases under their
    first word, or _NUMBER. An entry says how many of its slots the look-up has checked.
    """

    def __init__(self, concepts: tuple[Concept, ...], rules: tuple[Rule, ...]) -> None:
        self.by_pair: dict[tuple[str, str], list[_Entry]] = {}
        self.by_word: dict[str, list[_Entry]] = {}
        self.by_number: list[_Entry] = []
        # Which concepts each key can start: a concept can be in a message only if one of
        # its keys is, and a rule can fire only if all the concepts of a line can.
        self.concepts_of: dict[_Key, set[str]] = {}
        for concept in concepts:
            for phrases, exception in ((concept.phrases, False), (concept.exceptions, True)):
                for phrase in phrases:
                    for key, entry in _keys(concept.name, phrase, exception):
                        if isinstance(key, tuple):
                            self.by_pair.setdefault(key, []).append(entry)
                        elif key == _NUMBER:
                            self.by_number.append(entry)
                        else:
                            self.by_word.setdefault(key, []).append(entry)
                        if not exception:
                            self.concepts_of.setdefault(key, set()).add(concept.name)
        self.lines = {frozenset(c.concepts) for rule in rules for c in rule.when}

    def could_fire(self, read: _Text) -> bool:
        """Tell whether some rule has, for each of its concepts, a key in the message."""
        keys: set[_Key] = set(read.words)
        keys.update(_pairs(read))
        if any(n is not None for n in read.numbers):
            keys.add(_NUMBER)
        possible: set[str] = set()
        for key in keys:
            possible.update(self.concepts_of.get(key, ()))
        return any(line <= possible for line in self.lines)

    def candidates(self, read: _Text, start: int) -> list[_Entry]:
        """Return the entries that may match at `start`."""
        word = read.words[start]
        found = self.by_word.get(word, [])
        after = start + 1
        if after < len(read.words) and read.segment[after] == read.segment[start]:
            found = found + self.by_pair.get((word, read.words[after]), [])
            if read.numbers[after] is not None:
                found = found + self.by_pair.get((word, _NUMBER), [])
        if read.numbers[start] is not None:
            found = found + self.by_number
        return found


def _keys(concept: str, phrase: Phrase, exception: bool) -> Iterator[tuple[_Key, _Entry]]:
    """The keys a phrase is filed under, each with its index entry."""
    first = phrase.slots[0]
    second = phrase.slots[1] if len(phrase.slots) > 1 else None
    if first.plain and second is not None and (second.plain or second.number):
        entry = (concept, phrase, exception, 2 if second.plain else 1)
        for pair in itertools.product(first.words, second.words if second.plain else {_NUMBER}):
            yield pair, entry
        return
    entry = (concept, phrase, exception, 1 if first.plain else 0)
    for word in first.words:
        yield word, entry
    if first.numbers is not None:
        yield _NUMBER, entry


def _pairs(read: _Text) -> set[tuple[str, str]]:
    """Each word with the next in its segment, and with _NUMBER when that is a number."""
    words, segment, numbers = read.words, read.segment, read.numbers
    pairs = set()
    for i in range(len(words) - 1):
        if segment[i] == segment[i + 1]:
            pairs.add((words[i], words[i + 1]))
            if numbers[i + 1] is not None:
                pairs.add((words[i], _NUMBER))
    return pairs


def _ends(slots: tuple[Slot, ...], k: int, read: _Text, pos: int, segment: int) -> list[int]:
    """Return where matches of `slots[k:]` that begin at `pos` end (empty: no match).

    Optional slots, gaps and @concept slots branch a few ways at most, so the work at one
    position is bounded by the phrase, and a message is matched in linear time.
    """
    if k == len(slots):
        return [pos]
    slot = slots[k]
    ends: list[int] = []
    if slot.gap:
        for p in range(pos, min(pos + slot.gap, len(read.words)) + 1):
            if p > pos and read.segment[p - 1] != segment:
                break
            ends += _ends(slots, k + 1, read, p, segment)
        return ends
    if slot.optional:
        ends += _ends(slots, k + 1, read, pos, segment)
    if pos >= len(read.words) or read.segment[pos] != segment:
        return ends
    if slot.sub:
        for phrase in slot.sub:
            for end in _ends(phrase.slots, 0, read, pos, segment):
                ends += _ends(slots, k + 1, read, end, segment)
    elif slot.accepts(read.words[pos], read.numbers[pos]):
        ends += _ends(slots, k + 1, read, pos + 1, segment)
    return ends


def _occurrences(read: _Text, rules: RuleSet) -> dict[str, list[_Occurrence]]:
    found: dict[str, list[_Occurrence]] = {}
    exceptions: dict[str, list[tuple[int, int]]] = {}
    index = rules._index
    words, segment = read.words, read.segment
    n = len(words)
    for start in range(n):
        for concept, phrase, exception, checked in index.candidates(read, start):
            slots = phrase.slots
            if phrase.simple:  # most phrases: a fixed run of words
                end = start + len(slots)
                if end > n or segment[end - 1] != segment[start]:
                    continue
                if any(words[start + k] not in slots[k].words for k in range(checked, len(slots))):
                    continue
            else:
                ends = _ends(slots, checked, read, start + checked, segment[start])
                if not ends:
                    continue
                end = max(ends)
            if exception:
                exceptions.setdefault(concept, []).append((start, end))
            else:
                found.setdefault(concept, []).append(_Occurrence(concept, start, end))
    for concept, spans in exceptions.items():
        if concept in found:
            excepted = bytearray(n)
            for s, e in spans:
                excepted[s:e] = b"\x01" * (e - s)
            found[concept] = [o for o in found[concept] if not excepted[o.start]]
            if not found[concept]:
                del found[concept]
    # An occurrence of one phrase of a concept inside another's is the same mention.
    for concept, occurrences in found.items():
        if len(occurrences) > 1:
            occurrences.sort(key=lambda o: (o.start, -o.end))
            kept: list[_Occurrence] = []
            for o in occurrences:
                if not kept or o.start >= kept[-1].end:
                    kept.append(o)
            found[concept] = kept
    return found


def _mark_negation_and_owner(
    read: _Text, found: dict[str, list[_Occurrence]], language: Language
) -> None:
    """Set each occurrence's `negated` and `owner` (who the words are about)."""
    n = len(read.words)
    # A negation word inside a phrase is part of it ("no feeling", "not dieting"): it
    # covers only the rest of that phrase (so "dieting" in "not dieting" is negated).
    inside = [0] * n
    for occurrences in found.values():
        for o in occurrences:
            for i in range(o.start, o.end):
                inside[i] = max(inside[i], o.end)
    negated = bytearray(n)
    words = read.words
    for i, word in enumerate(words):
        if word not in language.negations:
            continue
        if i + 1 < n and words[i + 1] in language.not_negations:
            continue
        for j in range(i + 1, inside[i] or min(n, i + 1 + language.reach)):
            if read.sentence[j] != read.sentence[i] or words[j] in language.contrasts:
                break
            if words[j] in language.subjects and read.segment[j] != read.segment[j - 1]:
                break  # ", my legs ...": a new clause with its own subject
            if words[j] in language.joiners and j + 1 < n and words[j + 1] in language.subjects:
                break  # "and I ...", "so my ..."
            negated[j] = 1
    # Whose words: the last person word up to the occurrence's end, in its sentence ("my
    # dad ... cancer" is the dad's; "my back", with its own person word, is the writer's);
    # failing that, the next one ("the pain in my groin").
    person = [
        SELF if w in language.self_words else OTHER if w in language.other_words else NOBODY
        for w in words
    ]
    for i, word in enumerate(words):  # "my 90 year old neighbour" is the neighbour
        if word in language.possessives:
            for j in range(i + 1, min(n, i + 5)):
                if person[j] or read.segment[j] != read.segment[i]:
                    if person[j] == OTHER:
                        person[i] = OTHER
                    break
    last, following = [NOBODY] * n, [NOBODY] * n
    for i in range(n):
        same = i and read.sentence[i] == read.sentence[i - 1]
        last[i] = person[i] or (last[i - 1] if same else NOBODY)
    for i in reversed(range(n)):
        same = i + 1 < n and read.sentence[i] == read.sentence[i + 1]
        following[i] = person[i] or (following[i + 1] if same else NOBODY)
    for occurrences in found.values():
        for o in occurrences:
            o.negated = bool(negated[o.start])
            o.owner = last[o.end - 1] or following[o.end - 1]


def _same_person(*owners: int) -> bool:
    known = {o for o in owners if o != NOBODY}
    return len(known) <= 1


def _window_id(read: _Text, o: _Occurrence, window: Window) -> int:
    kind = window[0]
    if kind == "clause":
        return read.clause[o.start]
    if kind == "message":
        return 0
    return read.sentence[o.start]


def _near(read: _Text, a: _Occurrence, b: _Occurrence, window: Window) -> bool:
    if window[0] == "words":
        if read.sentence[a.start] != read.sentence[b.start]:
            return False
        gap = max(b.start - a.end, a.start - b.end, 0)
        return gap <= window[1]
    return _window_id(read, a, window) == _window_id(read, b, window)


def _unguarded(
    read: _Text, signs: list[_Occurrence], guards: list[Guard], found: dict[str, list[_Occurrence]]
) -> list[_Occurrence]:
    """Return the signs that no guard occurrence (not negated) is near."""
    for guard in guards:
        near = [g for g in found.get(guard.concept, ()) if not g.negated]
        if not near or not signs:
            continue
        if guard.window[0] == "words":
            # A guard covers the words of its sentence with at most `reach` words between
            # them and it; a sign with a covered word is guarded.
            covered: set[int] = set()
            reach = guard.window[1]
            for g in near:
                for p in range(
                    max(0, g.start - reach - 1), min(len(read.words), g.end + reach + 1)
                ):
                    if read.sentence[p] == read.sentence[g.start]:
                        covered.add(p)
            signs = [o for o in signs if covered.isdisjoint(range(o.start, o.end))]
        else:
            windows = {_window_id(read, g, guard.window) for g in near}
            signs = [o for o in signs if _window_id(read, o, guard.window) not in windows]
    return signs


def _combine(
    read: _Text,
    combination: Combination,
    occurrences: list[list[_Occurrence]],
) -> list[_Occurrence] | None:
    """Return one occurrence per concept, all in one window and about one person."""
    window = combination.window
    if window[0] == "words":
        signs, others = occurrences
        starts = [o.start for o in others]
        reach = window[1] + max((o.end - o.start for o in others), default=0)
        for a in signs:
            low = bisect_left(starts, a.start - reach)
            for b in others[low:]:
                if b.start > a.end + window[1]:
                    break
                if _near(read, a, b, window) and _same_person(a.owner, b.owner):
                    return [a, b]
        return None
    groups: dict[int, list[list[_Occurrence]]] = {}
    for k, found in enumerate(occurrences):
        for o in found:
            groups.setdefault(_window_id(read, o, window), [[] for _ in occurrences])[k].append(o)
    for members in groups.values():
        if not all(members):
            continue
        for person in (SELF, OTHER):
            picked = [next((o for o in m if o.owner in (person, NOBODY)), None) for m in members]
            if all(p is not None for p in picked):
                return [p for p in picked if p is not None]
    return None


def _evidence(read: _Text, parts: list[_Occurrence]) -> str:
    spans = sorted((p.start, p.end) for p in parts)
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    # Token offsets are found again only here: a finding is rare, a message is not.
    spans = [m.span() for m in _TOKEN.finditer(read.text) if m.group(1) or m.group(2)]
    return " ... ".join(read.text[spans[s][0] : spans[e - 1][1]] for s, e in merged)


@lru_cache(maxsize=1)
def default_rules() -> RuleSet:
    """Return the shipped red-flag concepts and rules."""
    text = resources.files("psoasbot").joinpath("data/red_flags.txt").read_text("utf-8")
    return parse_rules(text)


def find_red_flags(message: str, rules: RuleSet | None = None) -> list[Finding]:
    """Return the red flags a message describes, one finding per rule, in rule order."""
    rules = default_rules() if rules is None else rules
    read = _read(message, rules.language)
    if not rules._index.could_fire(read):
        return []
    found = _occurrences(read, rules)
    if not any(all(c in found for c in w.concepts) for r in rules.rules for w in r.when):
        return []  # the usual case: no rule has all its concepts in the message
    _mark_negation_and_owner(read, found, rules.language)
    findings = []
    for rule in rules.rules:
        for combination in rule.when:
            if not all(c in found for c in combination.concepts):
                continue
            occurrences = [
                [o for o in found.get(c, ()) if not o.negated] for c in combination.concepts
            ]
            if not all(occurrences):
                continue
            for k, concept in enumerate(combination.concepts):
                guards = [
                    g for g in rule.unless if g.target == concept or (not g.target and k == 0)
                ]
                if guards:
                    occurrences[k] = _unguarded(read, occurrences[k], guards, found)
            parts = _combine(read, combination, occurrences) if all(occurrences) else None
            if parts is not None:
                findings.append(Finding(rule.name, rule.reason, _evidence(read, parts)))
                break
    return findings
