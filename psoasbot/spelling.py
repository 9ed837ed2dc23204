"""Misspellings -> the articles' words: "musle" -> muscle, "stretchng" -> stretching.

A word is corrected only when neither the articles, nor the lay-term lexicon, nor everyday
English knows it, and one word of the articles or the lexicon is within a small edit
distance (one edit for words of 5 to 8 letters, two from 9 letters; a swap of two
neighbouring letters is one edit). A word that is itself known is never "corrected":
"mattress" stays mattress, however close it is to a word of the articles. The distance
work is rapidfuzz's (optimal string alignment, in C++).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from psoasbot.english import english_counts

# Words shorter than this are never corrected: too many words are one edit apart.
MIN_CHARS = 5
# From this many letters, two edits are allowed.
TWO_EDITS_FROM = 9
# Corrections remembered per speller, before the memory starts again.
_CACHE_SIZE = 8192
# Closest candidates looked at, to prefer the commonest of those equally close.
_CANDIDATES = 8


class Speller:
    """Corrects words unknown to the articles, the lexicon and English, to a known word."""

    def __init__(
        self,
        words: Mapping[str, int],
        extra: Iterable[str] = (),
        is_english: Callable[[str], bool] | None = None,
    ) -> None:
        """Make a speller.

        Args:
            words: the articles' words, each with a frequency that breaks ties.
            extra: more words to correct to (the lexicon's lay words), at frequency 0.
            is_english: tells whether a word is everyday English; such a word is never
                corrected (by default, whether symspellpy's English dictionary has it).
        """
        self._frequency = dict(words)
        for word in extra:
            if len(word) >= MIN_CHARS - 1 and word.isalpha():
                self._frequency.setdefault(word, 0)
        self._choices = list(self._frequency)
        self._is_english = is_english or _in_english_dictionary
        self._cache: dict[str, str | None] = {}

    def correct(self, word: str) -> str | None:
        """Return the known word `word` is a misspelling of, or None to leave it as it is."""
        if word in self._cache:
            return self._cache[word]
        correction = self._correct(word)
        if len(self._cache) >= _CACHE_SIZE:
            self._cache = {}
        self._cache[word] = correction
        return correction

    def _correct(self, word: str) -> str | None:
        if len(word) < MIN_CHARS or not word.isalpha() or word in self._frequency:
            return None
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        edits = 2 if len(word) >= TWO_EDITS_FROM else 1
        found = process.extract(
            word, self._choices, scorer=OSA.distance, score_cutoff=edits, limit=_CANDIDATES
        )
        # English is looked up only now, for the few words close to a word of the articles.
        if not found or self._is_english(word):
            return None
        closest = min(distance for _, distance, _ in found)
        best = [choice for choice, distance, _ in found if distance == closest]
        return min(best, key=lambda w: (-self._frequency[w], w))


def _in_english_dictionary(word: str) -> bool:
    return word in english_counts()
