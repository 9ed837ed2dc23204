"""Turn text into index terms: normalise, tokenize, drop stopwords, stem."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, MutableMapping
from functools import lru_cache
from importlib import resources
from typing import Literal

StemmerName = Literal["snowball", "porter", "none"]

# Typographic characters NFKC leaves alone; mapped so "doesn’t" and "doesn't" agree.
_PUNCTUATION = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2033": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
    }
)
_POSSESSIVE = re.compile(r"(?<=[^\W_])'s\b")
_APOSTROPHE = re.compile(r"(?<=[^\W_])'(?=[^\W_])")
_COMBINING = frozenset({"Mn", "Mc", "Me"})
# Every ASCII character that is not a letter or a digit, as a space.
_ASCII_SEPARATORS = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalnum()})


def normalize(text: str) -> str:
    """Apply NFKC, fold case and map curly quotes and dashes to plain ones."""
    if text.isascii():  # nothing for NFKC or the table to change: only fold the case
        return text.lower()
    folded = unicodedata.normalize("NFKC", text).translate(_PUNCTUATION).casefold()
    # casefold can undo NFKC ("İ" -> "i" + a combining dot): normalise once more.
    return folded if folded.isascii() else unicodedata.normalize("NFKC", folded)


def tokenize(text: str) -> list[str]:
    """Split normalised text into word tokens; "doesn't" -> "doesnt", "psoas's" -> "psoas".

    Combining marks stay inside a word, so Hindi, Thai or decomposed Greek words are
    kept whole (`re`'s \\w does not count them as word characters).
    """
    if "'" in text:  # both patterns need one; the check saves a third of indexing time
        text = _APOSTROPHE.sub("", _POSSESSIVE.sub("", text))
    if text.isascii():  # the runs of letters and digits, 4x faster than re.findall
        return text.translate(_ASCII_SEPARATORS).split()
    tokens: list[str] = []
    word: list[str] = []
    for ch in text:
        if ch.isalnum() or (word and unicodedata.category(ch) in _COMBINING):
            word.append(ch)
        elif word:
            tokens.append("".join(word))
            word = []
    if word:
        tokens.append("".join(word))
    return tokens


@lru_cache(maxsize=1)
def load_stopwords() -> frozenset[str]:
    """Return the shipped English stopword list."""
    data = resources.files("psoasbot").joinpath("data/stopwords.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in data.splitlines() if line.strip() and not line.startswith("#")
    )


def _stemmer(name: StemmerName) -> Callable[[str], str]:
    """Return the named stemming function; both nltk stemmers need no downloaded data."""
    if name == "none":
        return str
    if name == "snowball":
        from nltk.stem.snowball import SnowballStemmer

        return SnowballStemmer("english").stem
    if name == "porter":
        from nltk.stem.porter import PorterStemmer

        return PorterStemmer().stem
    raise ValueError(f"unknown stemmer {name!r}; use 'snowball', 'porter' or 'none'")


class _StemCache(dict[str, str]):
    """Each word's stem, computed once; emptied when full. Stopwords map to "".

    A large corpus has hundreds of thousands of words, and stemming them is most of the
    time of indexing it: an LRU cache of 65,536 kept missing. Emptying when full keeps a
    long-running bot fed made-up words bounded (about 80 MB at most).
    """

    MAX_WORDS = 1 << 19

    def __init__(self, stem: Callable[[str], str], stopwords: frozenset[str]) -> None:
        super().__init__()
        self._stem = stem
        self._stopwords = stopwords

    def __missing__(self, word: str) -> str:
        if len(self) >= self.MAX_WORDS:
            self.clear()
        # A stem is never empty for a word of letters or digits; if a stemmer gave "",
        # the word itself is kept rather than taken for a stopword.
        if word in self._stopwords:
            stem = ""
        else:
            stem = self._stem(word) or word
            # The word itself when unchanged: one string object to read, not two.
            stem = word if stem == word else stem
        self[word] = stem
        return stem


class _IdCache(dict[str, int]):
    """Word -> the id of its term in a vocabulary, 0 for a stopword."""

    def __init__(self, term: Callable[[str], str], vocabulary: MutableMapping[str, int]):
        super().__init__()
        self._term = term
        self._vocabulary = vocabulary

    def __missing__(self, word: str) -> int:
        term = self._term(word)
        term_id = self[word] = self._vocabulary[term] if term else 0
        return term_id


class Analyzer:
    """Text -> index terms, the same way for passages and questions."""

    def __init__(self, stemmer: StemmerName = "snowball") -> None:
        self.stemmer_name: StemmerName = stemmer
        self._setup()

    def _setup(self) -> None:
        self._stems = _StemCache(_stemmer(self.stemmer_name), load_stopwords())
        # Token -> term, "" for a stopword: one dict lookup a token, looped in C.
        self._term = self._stems.__getitem__

    def terms(self, text: str) -> list[str]:
        """Return the stemmed, stopword-free terms of `text`, in order."""
        return list(filter(None, map(self._term, tokenize(normalize(text)))))

    def tokens(self, text: str) -> list[str]:
        """Return the words of `text` as the analyser sees them, before stopwords and stems."""
        return tokenize(normalize(text))

    def term(self, token: str) -> str:
        """Return the index term of one token (from `tokens`), "" for a stopword."""
        return self._term(token)

    def seen_words(self) -> dict[str, str]:
        """Return each word analysed so far (stopwords aside) with its term.

        After indexing a corpus these are the corpus's words; the memory is emptied when
        full (`_StemCache.MAX_WORDS`), so on a very large corpus the rarest may be missing.
        """
        return {word: term for word, term in self._stems.items() if term}

    def term_ids(self, vocabulary: MutableMapping[str, int]) -> Callable[[str], list[int]]:
        """Return a function from text to the ids its terms have in `vocabulary`, in order.

        `vocabulary` gives every term a nonzero id, adding new terms as they come (a dict
        with `__missing__`). Each word's id is remembered, so indexing a large corpus looks
        each word up once, not once for its term and again for the term's id. The memory
        grows with the distinct words seen, as the vocabulary does: use it to build an index,
        then drop it.
        """
        lookup = _IdCache(self._term, vocabulary).__getitem__
        return lambda text: list(filter(None, map(lookup, tokenize(normalize(text)))))

    def __getstate__(self) -> dict[str, object]:
        # The stemmer and its cache are rebuilt on unpickling (the index cache stores an
        # Analyzer); pickling them would store every word seen so far.
        return {"stemmer_name": self.stemmer_name}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._setup()
