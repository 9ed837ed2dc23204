"""Synthetic corpora for the benchmarks: Zipf-distributed words, a fixed seed, streamed.

Word ranks follow Zipf's law (P(rank r) proportional to 1 / r ** ZIPF_S) over a vocabulary
of VOCABULARY words: the 50 most frequent are English function words (stopwords, about a
third of all tokens, as in English prose), the rest pronounceable pseudo-words ("bakeli").
Passages have 35 to 85 words (the built-in corpus averages 58) in sentences of 12 words;
documents have 20 passages, in sections of 5 under a 3-word heading, and a 4-word title.
Nothing is written to disk unless `write_documents` is called.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from psoasbot.models import Passage

SEED = 20240605
VOCABULARY = 300_000
ZIPF_S = 1.0
PASSAGES_PER_DOCUMENT = 20
PASSAGES_PER_SECTION = 5
MIN_WORDS, MAX_WORDS = 35, 85
SENTENCE_WORDS = 12

# The most frequent English words, most frequent first; all are in psoasbot's stopwords.
FUNCTION_WORDS = (
    "the of and to a in is it you that he was for on are with as his they be at have this "
    "from or had by but some what there we can out other were all your when up how an "
    "each she which do their if them then so no my me"
).split()

_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]


def vocabulary(size: int = VOCABULARY) -> list[str]:
    """Return the words by rank: function words first, then pseudo-words of 2-3 syllables."""
    words = list(FUNCTION_WORDS)
    taken = set(words)
    base = len(_SYLLABLES)
    for number in itertools.count(base):  # from base: every word has 2 syllables or more
        if len(words) == size:
            break
        syllables = []
        while number:
            number, digit = divmod(number, base)
            syllables.append(_SYLLABLES[digit])
        word = "".join(syllables)
        if word not in taken:  # "so" + "me" would be the function word "some"
            words.append(word)
            taken.add(word)
    return words


class Zipf:
    """Draws word ranks with a fixed seed; the same seed gives the same words."""

    def __init__(self, size: int = VOCABULARY, s: float = ZIPF_S, seed: int = SEED) -> None:
        self.words = vocabulary(size)
        weights = 1.0 / np.arange(1, size + 1, dtype=np.float64) ** s
        self._cdf = np.cumsum(weights / weights.sum())
        self._rng = np.random.default_rng(seed)

    def ranks(self, n: int) -> np.ndarray:
        return np.minimum(np.searchsorted(self._cdf, self._rng.random(n)), len(self.words) - 1)

    def lengths(self, n: int, low: int, high: int) -> np.ndarray:
        return self._rng.integers(low, high + 1, size=n)

    def phrase(self, n: int) -> str:
        return " ".join(self.words[i] for i in self.ranks(n).tolist())


def _sentences(words: list[str]) -> str:
    for j in range(SENTENCE_WORDS - 1, len(words) - 1, SENTENCE_WORDS):
        words[j] += "."
    text = " ".join(words) + "."
    return text[0].upper() + text[1:]


def passages(count: int, seed: int = SEED, block: int = 10_000) -> Iterator[Passage]:
    """Yield `count` synthetic passages, drawing words a block of passages at a time."""
    zipf = Zipf(seed=seed)
    words = zipf.words
    title = section = ""
    made = 0
    while made < count:
        n = min(block, count - made)
        lengths = zipf.lengths(n, MIN_WORDS, MAX_WORDS)
        ranks = zipf.ranks(int(lengths.sum())).tolist()
        start = 0
        for length in lengths.tolist():
            doc, position = divmod(made, PASSAGES_PER_DOCUMENT)
            if position == 0:
                title = zipf.phrase(4).title()
            if position % PASSAGES_PER_SECTION == 0:
                section = zipf.phrase(3).capitalize()
            text = _sentences([words[i] for i in ranks[start : start + length]])
            start += length
            doc_id = f"doc{doc:07d}"
            yield Passage(f"{doc_id}#{position}", doc_id, title, section, text, position)
            made += 1


def questions(count: int, seed: int = SEED + 1) -> list[str]:
    """Return `count` questions of 3 to 8 words drawn from the corpus's own word law."""
    zipf = Zipf(seed=seed)
    return [zipf.phrase(int(n)) + "?" for n in zipf.lengths(count, 3, 8)]


def write_documents(folder: Path, count: int, seed: int = SEED) -> int:
    """Write documents holding `count` passages as Markdown files; return the bytes written."""
    written = 0
    for doc_id, group in itertools.groupby(passages(count, seed), key=lambda p: p.doc_id):
        group_list = list(group)
        lines = ["---", f"title: {group_list[0].title}", "---", ""]
        section = None
        for p in group_list:
            if p.section != section:
                section = p.section
                lines += [f"## {section}", ""]
            lines += [p.text, ""]
        path = folder / doc_id[:-3] / f"{doc_id}.md"  # 1,000 documents a sub-folder
        path.parent.mkdir(parents=True, exist_ok=True)
        data = "\n".join(lines).encode("utf-8")
        path.write_bytes(data)
        written += len(data)
    return written
