"""The corpus's words: what a misspelling may stand for, and how topical each term is.

Built once with the index (pipeline.py) and kept with it in the cache. Topicality compares
how often the articles use a term with how often everyday English does (the word counts
that ship with symspellpy, from Google Books Ngram data): "psoas" and "stretch" are far
more common in the articles than in English, "day" and "people" are not. Scope (scope.py)
asks whether a question names anything the articles are about; the spelling corrector
(spelling.py) maps "musle" to "muscle" but leaves "mattress", an English word, alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from psoasbot.english import english_counts, english_total
from psoasbot.index import Index

# A word of the articles everyday English never uses ("pandiculation", "iliopsoas") counts
# as if English used it this many times in its ~600 billion words: rare, but not never.
ENGLISH_FLOOR = 1000
# Spelling only corrects to words of at least this many letters (a 4-letter word is within
# one edit of too many others).
MIN_WORD_CHARS = 4
# On a very large corpus, spelling compares a misspelling with this many of its most
# frequent words at most (each comparison is cheap, but a million add up).
MAX_SPELLING_WORDS = 50_000


@dataclass(frozen=True)
class Vocabulary:
    """The words of a corpus for spelling, and the topicality of its terms.

    Attributes:
        words: each word of the articles a misspelling may stand for, with how many
            passages have its term (to prefer the commoner of two equally close words).
        topicality: each index term -> log(share of the articles' terms / share of
            English words): above 0 when the articles use it more than English does.
    """

    words: Mapping[str, int]
    topicality: Mapping[str, float]

    @classmethod
    def from_index(cls, index: Index) -> Vocabulary:
        """Gather the words of an index's passages (`Analyzer.seen_words` after indexing)."""
        seen = index.analyzer.seen_words()
        if not seen:  # an index loaded from disk: its analyser has not read the passages
            for p in index.passages:
                index.analyzer.terms(" ".join((p.text, *p.parents, p.section, p.title)))
            seen = index.analyzer.seen_words()
        n = len(index)
        # BM25Plus's IDF is log((N + 1) / df), so each term's document frequency is known.
        df = {term: (n + 1) / math.exp(index.idf(term)) for term in set(seen.values())}
        # Unindexed terms have IDF 0; numbers ("30 seconds") name no subject.
        df = {term: count for term, count in df.items() if count < n + 1 and not term.isdigit()}
        english = english_counts()
        in_english: dict[str, int] = {}
        for word, term in seen.items():
            if term in df:
                in_english[term] = in_english.get(term, 0) + english.get(word, 0)
        corpus_total = sum(df.values()) or 1.0
        total = english_total()
        topicality = {
            term: math.log(
                (count / corpus_total) / ((in_english.get(term, 0) + ENGLISH_FLOOR) / total)
            )
            for term, count in df.items()
        }
        words = {
            word: round(df[term])
            for word, term in seen.items()
            if term in df and len(word) >= MIN_WORD_CHARS and word.isalpha()
        }
        if len(words) > MAX_SPELLING_WORDS:
            kept = sorted(words, key=lambda w: (-words[w], w))[:MAX_SPELLING_WORDS]
            words = {w: words[w] for w in kept}
        return cls(words, topicality)

    def topicality_of(self, term: str) -> float:
        """Return a term's topicality; a term the articles don't use has none (-inf)."""
        return self.topicality.get(term, -math.inf)
