"""The lay-term lexicon: everyday words -> the articles' words, for query expansion.

People write "hip flexor", "slipped disc" or "pins and needles" where the articles say
psoas, herniated disc and tingling. `data/lexicon.tsv` is a reviewed list of such
synonyms; `Lexicon.expand` finds its lay phrases in a question's terms and returns the
article terms each question term may also be matched by.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from psoasbot.analysis import Analyzer

CATEGORIES = frozenset(
    {"anatomy", "symptom", "condition", "activity", "treatment", "cause", "general"}
)


class LexiconFileError(ValueError):
    """The lexicon file is malformed (a packaging error, not a user error)."""


@dataclass(frozen=True)
class Entry:
    category: str
    phrases: tuple[str, ...]
    terms: tuple[str, ...]
    line: int


def parse_entries(text: str, name: str = "lexicon.tsv") -> list[Entry]:
    """Parse the lexicon's tab-separated lines; errors name the line."""
    entries = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        cols = raw.split("\t")
        if len(cols) != 3:
            raise LexiconFileError(
                f"{name} line {number}: expected 3 tab-separated columns, found {len(cols)}"
            )
        category = cols[0].strip()
        if category not in CATEGORIES:
            raise LexiconFileError(f"{name} line {number}: unknown category {category!r}")
        phrases = tuple(p.strip() for p in cols[1].split("|") if p.strip())
        terms = tuple(cols[2].replace(",", " ").split())
        if not phrases or not terms:
            raise LexiconFileError(f"{name} line {number}: needs lay phrases and article terms")
        entries.append(Entry(category, phrases, terms, number))
    return entries


class Lexicon:
    """Lay phrases as analysed term sequences, each with the article terms it stands for."""

    def __init__(self, entries: Sequence[Entry], analyzer: Analyzer) -> None:
        self.entries = tuple(entries)
        # phrase terms -> expansion terms; a phrase may come from several entries.
        self._phrases: dict[tuple[str, ...], set[str]] = {}
        for entry in entries:
            expansion = set(analyzer.terms(" ".join(entry.terms)))
            for phrase in entry.phrases:
                key = tuple(analyzer.terms(phrase))
                if key:
                    self._phrases.setdefault(key, set()).update(expansion)
        self._longest = max((len(k) for k in self._phrases), default=0)

    def __len__(self) -> int:
        return len(self.entries)

    def expand(self, terms: Sequence[str]) -> dict[str, set[str]]:
        """Map each question term that is part of a lay phrase to the phrase's article terms.

        Phrases are matched as contiguous runs of the question's terms (stopwords already
        removed), the longest first; the terms of a matched phrase are not matched again.
        """
        found: dict[str, set[str]] = {}
        n = len(terms)
        i = 0
        while i < n:
            size = min(self._longest, n - i)
            while size:
                key = tuple(terms[i : i + size])
                expansion = self._phrases.get(key)
                if expansion:
                    for term in key:
                        found.setdefault(term, set()).update(expansion - set(key))
                    break
                size -= 1
            i += size or 1
        return found


@lru_cache(maxsize=4)
def default_lexicon(stemmer: str = "snowball") -> Lexicon:
    """Return the shipped lexicon, analysed with the given stemmer."""
    text = resources.files("psoasbot").joinpath("data/lexicon.tsv").read_text("utf-8")
    return Lexicon(parse_entries(text), Analyzer(stemmer))  # type: ignore[arg-type]
