"""The red-flag file format: data/red_flags.txt -> the language, the concepts, the rules.

The file's own header describes the format for its reviewers; triage.py applies what
this module reads. Parse errors name the line and say how to fix it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from psoasbot.analysis import load_stopwords

Window = tuple[str, int]  # ("words", n), ("clause", 0), ("sentence", 0) or ("message", 0)
_MAX_GAP = 5
_FUZZY_MIN_LETTERS = 6
_VOWELS = "aeiouy"


def _token(word: str) -> str:
    """Read a word as triage does: apostrophes dropped ("can't" -> "cant")."""
    return word.replace("'", "")


class RedFlagFileError(ValueError):
    """The red-flag file is malformed (a packaging error, not a user error)."""


# --- the vocabulary, compiled ------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """One word position of a phrase: the words it accepts, or a gap of any words."""

    words: frozenset[str] = frozenset()
    numbers: tuple[float, float] | None = None
    optional: bool = False
    gap: int = 0  # a gap slot takes 0 to `gap` words of any kind
    sub: tuple[Phrase, ...] = ()  # "@concept" inside a phrase: any phrase of that concept

    @property
    def plain(self) -> bool:
        """Tell whether the slot is one word from a list, always there."""
        return not (self.optional or self.gap or self.sub) and self.numbers is None

    @property
    def number(self) -> bool:
        """Tell whether the slot is one number in a range, always there."""
        return not (self.optional or self.gap or self.sub) and self.numbers is not None

    def accepts(self, word: str, number: float | None) -> bool:
        if word in self.words:
            return True
        return (
            self.numbers is not None
            and number is not None
            and (self.numbers[0] <= number <= self.numbers[1])
        )


@dataclass(frozen=True)
class Phrase:
    """A phrase of a concept as the file writes it, and its compiled slots."""

    text: str
    line: int
    slots: tuple[Slot, ...]
    simple: bool = field(default=False, repr=False, compare=False)  # every slot plain


@dataclass(frozen=True)
class Concept:
    """A warning sign or a context, with the phrases people use for it.

    `exceptions` are phrases that contain a phrase of the concept without meaning it
    ("fell asleep" for a fall); an occurrence that starts inside one does not count.
    """

    name: str
    about: str
    source: str
    phrases: tuple[Phrase, ...]
    exceptions: tuple[Phrase, ...] = ()


@dataclass(frozen=True)
class Combination:
    """A `when` line: all its concepts found within the window fire the rule."""

    concepts: tuple[str, ...]
    window: Window
    text: str


@dataclass(frozen=True)
class Guard:
    """An `unless` line: this concept within the window of the warning sign cancels it.

    `target` names the concept it guards; empty, it guards each combination's first one.
    """

    concept: str
    window: Window
    target: str = ""


@dataclass(frozen=True)
class Rule:
    """A red flag: any of its combinations fires it, unless a guard cancels the sign.

    The first concept of each combination is the warning sign itself; the guards are
    looked for around it.
    """

    name: str
    reason: str
    source: str
    when: tuple[Combination, ...]
    unless: tuple[Guard, ...] = ()


@dataclass(frozen=True)
class Language:
    """How negation, clauses and people are read (the file's `language` block)."""

    negations: frozenset[str]
    not_negations: frozenset[str]  # a negation word followed by one is none ("not sure")
    reach: int  # how many words a negation covers
    contrasts: frozenset[str]  # words that start a new clause ("but", "though")
    joiners: frozenset[str]  # "and", "so": a new clause when a subject follows
    subjects: frozenset[str]
    self_words: frozenset[str]
    possessives: frozenset[str]  # "my": someone else's when another person follows ("my dad")
    other_words: frozenset[str]


# --- the file format -----------------------------------------------------------------------

_WORD_SPEC = re.compile(r"[a-z0-9']+~?$")
_NUMBER_SPEC = re.compile(r"\{(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)\}$")
_GAP_SPEC = re.compile(r"\.\.(\d)$")
_NAME = re.compile(r"[a-z][a-z0-9_]*$")
_WHEN = re.compile(r"(.+?)\s+within\s+(?:(\d+)\s+words?|(clause|sentence|message))$")
_LANGUAGE_KEYS = {
    "negation words": "negations",
    "not a negation before": "not_negations",
    "negation reach": "reach",
    "contrast words": "contrasts",
    "joining words": "joiners",
    "subject words": "subjects",
    "self words": "self_words",
    "possessive words": "possessives",
    "other words": "other_words",
}


def parse_file(
    text: str, name: str = "red_flags.txt"
) -> tuple[Language, tuple[Concept, ...], tuple[Rule, ...]]:
    """Parse the red-flag file format (described at the top of the file); errors name the line.

    Raises:
        RedFlagFileError: a line that is not understood, a rule that names an unknown
            concept, a phrase that cannot be compiled; the message gives the line.
    """
    blocks = _blocks(text, name)
    language = None
    concept_blocks: list[_Block] = []
    rule_blocks: list[_Block] = []
    for block in blocks:
        if block.kind == "language":
            language = _language(block, name)
        elif block.kind == "concept":
            concept_blocks.append(block)
        else:
            rule_blocks.append(block)
    if language is None:
        raise RedFlagFileError(f"{name}: no 'language' block; add one (see the file's header)")
    known = _vocabulary(concept_blocks) | load_stopwords()
    concepts = _concepts(concept_blocks, name, known)
    names = {c.name for c in concepts}
    rules = tuple(_rule(block, name, names) for block in rule_blocks)
    if not rules:
        raise RedFlagFileError(f"{name}: no rule; add a 'rule NAME' block")
    return language, concepts, rules


@dataclass
class _Block:
    kind: str
    name: str
    line: int
    entries: list[tuple[int, str, str]]  # (line, key, value)

    def values(self, key: str) -> list[tuple[int, str]]:
        return [(line, value) for line, k, value in self.entries if k == key]

    def one(self, key: str, file: str) -> str:
        found = self.values(key)
        if len(found) != 1:
            raise RedFlagFileError(
                f"{file} line {self.line}: {self.kind} {self.name} needs exactly one '{key}:' line"
            )
        return found[0][1]


_BLOCK_KEYS = {
    "language": set(_LANGUAGE_KEYS),
    "concept": {"about", "source", "say", "not"},
    "rule": {"reason", "source", "when", "unless"},
}


def _blocks(text: str, name: str) -> list[_Block]:
    blocks: list[_Block] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not raw[0].isspace():
            kind, _, block_name = line.partition(" ")
            block_name = block_name.strip()
            if kind not in _BLOCK_KEYS or (kind != "language") != bool(block_name):
                raise RedFlagFileError(
                    f"{name} line {number}: expected 'language', 'concept NAME' or 'rule NAME'"
                    " at the start of a line (entries are indented)"
                )
            if block_name and not _NAME.match(block_name):
                raise RedFlagFileError(
                    f"{name} line {number}: name '{block_name}' must be lower-case letters,"
                    " digits and underscores"
                )
            if any(b.kind == kind and b.name == block_name for b in blocks):
                raise RedFlagFileError(
                    f"{name} line {number}: {kind} {block_name} is defined twice"
                )
            blocks.append(_Block(kind, block_name, number, []))
            continue
        key, sep, value = line.partition(":")
        key = key.strip()
        if not blocks or not sep or key not in _BLOCK_KEYS[blocks[-1].kind]:
            expected = ", ".join(sorted(_BLOCK_KEYS[blocks[-1].kind])) if blocks else "a block"
            raise RedFlagFileError(
                f"{name} line {number}: expected 'key: value' with key one of: {expected}"
            )
        blocks[-1].entries.append((number, key, value.strip()))
    return blocks


def _language(block: _Block, name: str) -> Language:
    lists: dict[str, frozenset[str]] = {}
    reach = 0
    for key, attribute in _LANGUAGE_KEYS.items():
        found = block.values(key)
        if not found:
            raise RedFlagFileError(f"{name} line {block.line}: language needs a '{key}:' line")
        if attribute == "reach":
            line, value = found[-1]
            if not value.isdigit() or not 1 <= int(value) <= 10:
                raise RedFlagFileError(f"{name} line {line}: negation reach must be 1 to 10 words")
            reach = int(value)
        else:
            lists[attribute] = frozenset(_token(w) for _, v in found for w in v.split())
    return Language(reach=reach, **lists)


def _vocabulary(blocks: list[_Block]) -> set[str]:
    """Every plain word the concepts write: a typo variant must not turn into one of them."""
    words: set[str] = set()
    for block in blocks:
        for _, key, value in block.entries:
            if key in ("say", "not"):
                words.update(w for w in re.split(r"[\s/|\[\]]+", value) if w.isalpha())
    return words


def _concepts(blocks: list[_Block], name: str, known: set[str]) -> tuple[Concept, ...]:
    by_name = {b.name: b for b in blocks}
    # Each concept's phrases and exceptions; a whole-phrase "@other" brings in both of
    # the other concept's ("@leg_weakness" and its "weak ankles" exception).
    compiled: dict[str, tuple[tuple[Phrase, ...], tuple[Phrase, ...]]] = {}
    cache: dict[str, Slot] = {}

    def phrases(block: _Block, key: str, trail: tuple[str, ...]) -> tuple[list[Phrase], ...]:
        said: list[Phrase] = []
        excepted: list[Phrase] = []
        for line, value in block.values(key):
            for item in (p.strip() for p in value.split("|")):
                if item.startswith("@") and " " not in item:
                    included, exceptions = resolve(item[1:], line, trail)
                    said.extend(included)
                    excepted.extend(exceptions)
                elif item:
                    sub = partial(resolve_phrases, line=line, trail=trail)
                    said.append(_phrase(item, line, name, known, sub, cache))
        return said, excepted

    def resolve(
        ref: str, line: int, trail: tuple[str, ...]
    ) -> tuple[tuple[Phrase, ...], tuple[Phrase, ...]]:
        if ref not in by_name:
            raise RedFlagFileError(f"{name} line {line}: unknown concept '{ref}'")
        if ref in trail:
            raise RedFlagFileError(f"{name} line {line}: '{ref}' includes itself")
        if ref not in compiled:
            block = by_name[ref]
            said, inherited = phrases(block, "say", (*trail, ref))
            own, _ = phrases(block, "not", (*trail, ref))
            compiled[ref] = (tuple(said), tuple(own + inherited))
        return compiled[ref]

    def resolve_phrases(ref: str, line: int, trail: tuple[str, ...]) -> tuple[Phrase, ...]:
        return resolve(ref, line, trail)[0]

    concepts = []
    for block in blocks:
        said, exceptions = resolve(block.name, block.line, ())
        if not said:
            raise RedFlagFileError(
                f"{name} line {block.line}: concept {block.name} has no 'say:' line"
            )
        about, source = block.one("about", name), block.one("source", name)
        concepts.append(Concept(block.name, about, source, said, exceptions))
    return tuple(concepts)


def _phrase(
    text: str,
    line: int,
    name: str,
    known: set[str],
    resolve: Callable[[str], tuple[Phrase, ...]],
    cache: dict[str, Slot],
) -> Phrase:
    slots: list[Slot] = []
    for piece in text.split():
        slot = cache.get(piece)  # pieces repeat ("my/his/her"): compile each once
        if slot is None:
            try:
                slot = _slot(piece, known, resolve)
            except ValueError as exc:
                raise RedFlagFileError(
                    f"{name} line {line}: in '{text}', '{piece}': {exc}"
                ) from None
            cache[piece] = slot
        slots.append(slot)
    if not slots or slots[0].optional or slots[0].gap or slots[0].sub or slots[-1].gap:
        raise RedFlagFileError(
            f"{name} line {line}: the phrase '{text}' must start with a word that is always"
            " there (not a gap or an @concept), and not end with a gap"
        )
    return Phrase(text, line, tuple(slots), all(slot.plain for slot in slots))


def _slot(piece: str, known: set[str], resolve: Callable[[str], tuple[Phrase, ...]]) -> Slot:
    """Compile one piece of a phrase; a ValueError says what is wrong with it."""
    if piece.startswith("@"):
        return Slot(sub=resolve(piece[1:]))
    gap = _GAP_SPEC.match(piece)
    if gap:
        if not 1 <= int(gap.group(1)) <= _MAX_GAP:
            raise ValueError(f"a gap is ..1 to ..{_MAX_GAP} words")
        return Slot(gap=int(gap.group(1)))
    optional = piece.startswith("[") and piece.endswith("]")
    body = piece[1:-1] if optional else piece
    number = _NUMBER_SPEC.match(body)
    if number:
        return Slot(numbers=(float(number.group(1)), float(number.group(2))), optional=optional)
    words: set[str] = set()
    for alternative in body.split("/"):
        if not _WORD_SPEC.match(alternative):
            raise ValueError(
                "write words (a-z, 0-9, '), 'a/b' for either, '[a/b]' for optional, 'word~'"
                " for typos, '{38-42}' for a number, '..3' for up to 3 words, '@concept'"
            )
        word = _token(alternative.rstrip("~"))
        if alternative.endswith("~"):
            if len(word) < _FUZZY_MIN_LETTERS:
                raise ValueError(f"typo tolerance needs a word of {_FUZZY_MIN_LETTERS}+ letters")
            words.add(word)
            words.update(v for v in _typos(word) if v not in known)
        else:
            words.add(word)
    return Slot(frozenset(words), optional=optional)


def _typos(word: str) -> set[str]:
    """One-letter slips that keep the first letter: a letter left out, doubled, two
    letters swapped, or one vowel for another ("numbess", "bladdder", "incontinance")."""
    variants = set()
    for i in range(1, len(word)):
        variants.add(word[:i] + word[i + 1 :])
        if i + 1 < len(word):
            variants.add(word[:i] + word[i + 1] + word[i] + word[i + 2 :])
        if word[i] in _VOWELS:
            variants.update(word[:i] + v + word[i + 1 :] for v in _VOWELS)
    variants.update(word[:i] + word[i] + word[i:] for i in range(len(word)))
    variants.discard(word)
    return variants


def _rule(block: _Block, name: str, concepts: set[str]) -> Rule:
    def window_of(line: int, spec: str, pair: bool = True) -> tuple[list[str], Window]:
        match = _WHEN.match(spec)
        if not match:
            raise RedFlagFileError(
                f"{name} line {line}: expected 'concept + concept within N words'"
                " (or within clause, sentence, message)"
            )
        parts = [p.strip() for p in match.group(1).split("+")]
        for part in parts:
            if part not in concepts:
                raise RedFlagFileError(f"{name} line {line}: unknown concept '{part}'")
        if match.group(2):
            if (pair and len(parts) != 2) or not 0 <= int(match.group(2)) <= 10:
                raise RedFlagFileError(
                    f"{name} line {line}: 'within N words' joins two concepts, N up to 10"
                )
            return parts, ("words", int(match.group(2)))
        return parts, (match.group(3), 0)

    when = []
    for line, spec in block.values("when"):
        if "within" not in spec:  # a single concept is its own window
            spec += " within clause"
        parts, window = window_of(line, spec)
        when.append(Combination(tuple(parts), window, spec))
    if not when:
        raise RedFlagFileError(f"{name} line {block.line}: rule {block.name} has no 'when:' line")
    unless: list[Guard] = []
    for line, spec in block.values("unless"):
        spec, _, target = spec.partition(" of ")
        target = target.strip()
        if target and not any(target == c.concepts[0] or target in c.concepts for c in when):
            raise RedFlagFileError(
                f"{name} line {line}: '{target}' is in no 'when:' line of rule {block.name}"
            )
        parts, window = window_of(line, spec, pair=False)
        unless.extend(Guard(part, window, target) for part in parts)
    return Rule(
        block.name,
        block.one("reason", name),
        block.one("source", name),
        tuple(when),
        tuple(unless),
    )
