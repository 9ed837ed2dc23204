"""Reviewed word lists matched as phrases: the lay-term lexicon and the off-topic subjects.

People write "hip flexor", "slipped disc" or "pins and needles" where the articles say
psoas, herniated disc and tingling. `data/lexicon.tsv` is a reviewed list of such
synonyms; `Lexicon.expand` finds its lay phrases in a question's terms and returns the
article terms each question term may also be matched by. `data/off_topic.tsv` lists the
subjects the articles don't cover (medications, surgery, other conditions ...), which
scope.py looks for with the same phrase matching (`PhraseTable`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Generic, TypeVar

from psoasbot.analysis import Analyzer

CATEGORIES = frozenset(
    {"anatomy", "symptom", "condition", "activity", "treatment", "cause", "general"}
)
OFF_TOPIC_CATEGORIES = frozenset(
    {
        "medication",
        "supplement",
        "procedure",
        "test",
        "admin",
        "pregnancy",
        "other_condition",
        "other_muscle",
        "diet",
        "animal",
        "other_topic",
        "fitness_other",
        "not_off_topic",
    }
)
# Phrases of this category contain an off-topic word but are not off topic ("downward
# dog"); found as the longest phrase at their place, they keep that word from counting.
NOT_OFF_TOPIC = "not_off_topic"
V = TypeVar("V")


class LexiconFileError(ValueError):
    """A word-list file is malformed (a packaging error, not a user error)."""


@dataclass(frozen=True)
class Entry:
    """One line of a word list: its category, its phrases and (lexicon) the article terms."""

    category: str
    phrases: tuple[str, ...]
    terms: tuple[str, ...]
    line: int


def parse_entries(
    text: str,
    name: str = "lexicon.tsv",
    categories: Collection[str] = CATEGORIES,
    with_terms: bool = True,
) -> list[Entry]:
    """Parse a word list's tab-separated lines; errors name the line.

    A line is `category<TAB>phrase|phrase...`, followed by `<TAB>article terms` when
    `with_terms` (the lexicon); '#' comments and blank lines are skipped.
    """
    columns = 3 if with_terms else 2
    entries = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        cols = raw.split("\t")
        if len(cols) != columns:
            raise LexiconFileError(
                f"{name} line {number}: expected {columns} tab-separated columns, found {len(cols)}"
            )
        category = cols[0].strip()
        if category not in categories:
            raise LexiconFileError(f"{name} line {number}: unknown category {category!r}")
        phrases = tuple(p.strip() for p in cols[1].split("|") if p.strip())
        terms = tuple(cols[2].replace(",", " ").split()) if with_terms else ()
        if not phrases or (with_terms and not terms):
            needs = "phrases and article terms" if with_terms else "phrases"
            raise LexiconFileError(f"{name} line {number}: needs {needs}")
        entries.append(Entry(category, phrases, terms, number))
    return entries


@dataclass(frozen=True)
class Match(Generic[V]):
    """A phrase found in a sequence of terms: where, how many terms, and what it stands for."""

    start: int
    size: int
    value: V


@dataclass(frozen=True)
class Subject:
    """An off-topic subject: its category ("medication") and the phrase as listed."""

    category: str
    phrase: str


class PhraseTable(Generic[V]):
    """Phrases as term sequences, each with a value; found as runs of a question's terms."""

    def __init__(self, phrases: Iterable[tuple[tuple[str, ...], V]]) -> None:
        self._values: dict[tuple[str, ...], V] = {}
        for key, value in phrases:
            if key:
                self._values.setdefault(key, value)
        self._longest = max((len(k) for k in self._values), default=0)

    def __len__(self) -> int:
        return len(self._values)

    def get(self, phrase: Sequence[str]) -> V | None:
        """Return the value of exactly this phrase (as terms), or None."""
        return self._values.get(tuple(phrase))

    def values(self) -> list[V]:
        """Return the value of every phrase, in the order they were given."""
        return list(self._values.values())

    def items(self) -> list[tuple[tuple[str, ...], V]]:
        """Return every phrase (as terms) with its value, in the order they were given."""
        return list(self._values.items())

    def find(self, terms: Sequence[str]) -> list[Match[V]]:
        """Return the phrases in `terms`, left to right, the longest first at each place.

        The terms of a phrase found are not looked at again, so "lower back pain" is the
        phrase "lower back", not also "back pain".
        """
        found: list[Match[V]] = []
        n = len(terms)
        i = 0
        while i < n:
            size = min(self._longest, n - i)
            while size:
                value = self._values.get(tuple(terms[i : i + size]))
                if value is not None:
                    found.append(Match(i, size, value))
                    break
                size -= 1
            i += size or 1
        return found


class Lexicon:
    """Lay phrases as analysed term sequences, each with the article terms it stands for."""

    def __init__(self, entries: Sequence[Entry], analyzer: Analyzer) -> None:
        self.entries = tuple(entries)
        # phrase terms -> expansion terms; a phrase may come from several entries.
        phrases: dict[tuple[str, ...], set[str]] = {}
        for entry in entries:
            expansion = set(analyzer.terms(" ".join(entry.terms)))
            for phrase in entry.phrases:
                key = tuple(analyzer.terms(phrase))
                if key:
                    phrases.setdefault(key, set()).update(expansion)
        self._table = PhraseTable(phrases.items())
        # The terms of the lay phrases, and their words as written (for spelling).
        self.words = frozenset(term for key in phrases for term in key)
        self.lay_words = frozenset(
            word
            for entry in entries
            for phrase in entry.phrases
            for word in analyzer.tokens(phrase)
        )

    def __len__(self) -> int:
        return len(self.entries)

    def expand(self, terms: Sequence[str]) -> dict[str, set[str]]:
        """Map each question term that is part of a lay phrase to the phrase's article terms.

        Phrases are matched as contiguous runs of the question's terms (stopwords already
        removed), the longest first; the terms of a matched phrase are not matched again.
        """
        found: dict[str, set[str]] = {}
        for match in self._table.find(terms):
            key = terms[match.start : match.start + match.size]
            for term in key:
                found.setdefault(term, set()).update(match.value - set(key))
        return found


@dataclass(frozen=True)
class WordLists:
    """The shipped word lists, analysed: what an index cache keeps so a start is quick.

    Stemming their ~5,000 words takes about a tenth of a second; loaded with the index
    from the cache, they cost nothing to start.
    """

    lexicon: Lexicon
    off_topic: PhraseTable[Subject]

    @classmethod
    def default(cls, stemmer: str = "snowball") -> WordLists:
        """Return the shipped lexicon and off-topic subjects, analysed with the stemmer."""
        return cls(default_lexicon(stemmer), default_off_topic(stemmer))


@lru_cache(maxsize=4)
def default_lexicon(stemmer: str = "snowball") -> Lexicon:
    """Return the shipped lexicon, analysed with the given stemmer."""
    text = resources.files("psoasbot").joinpath("data/lexicon.tsv").read_text("utf-8")
    return Lexicon(parse_entries(text), Analyzer(stemmer))  # type: ignore[arg-type]


@lru_cache(maxsize=4)
def default_off_topic(stemmer: str = "snowball") -> PhraseTable[Subject]:
    """Return the shipped off-topic subjects (data/off_topic.tsv), analysed with the stemmer."""
    name = "off_topic.tsv"
    text = resources.files("psoasbot").joinpath(f"data/{name}").read_text("utf-8")
    analyzer = Analyzer(stemmer)  # type: ignore[arg-type]
    entries = parse_entries(text, name, OFF_TOPIC_CATEGORIES, with_terms=False)
    return PhraseTable(
        (tuple(analyzer.terms(phrase)), Subject(entry.category, phrase))
        for entry in entries
        for phrase in entry.phrases
    )
