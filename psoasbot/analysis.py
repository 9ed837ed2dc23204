"""Turn text into index terms: normalise, tokenize, drop stopwords, stem."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
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
_TOKEN = re.compile(r"[^\W_]+")


def normalize(text: str) -> str:
    """Apply NFKC, fold case and map curly quotes and dashes to plain ones."""
    return unicodedata.normalize("NFKC", text).translate(_PUNCTUATION).casefold()


def tokenize(text: str) -> list[str]:
    """Split normalised text into word tokens; "doesn't" -> "doesnt", "psoas's" -> "psoas"."""
    text = _APOSTROPHE.sub("", _POSSESSIVE.sub("", text))
    return _TOKEN.findall(text)


@lru_cache(maxsize=1)
def load_stopwords() -> frozenset[str]:
    """Return the shipped English stopword list."""
    data = resources.files("psoasbot").joinpath("data/stopwords.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in data.splitlines() if line.strip() and not line.startswith("#")
    )


def make_stemmer(name: StemmerName) -> Callable[[str], str]:
    """Return a cached stemming function; both nltk stemmers need no downloaded data."""
    if name == "none":
        return str
    if name == "snowball":
        from nltk.stem.snowball import SnowballStemmer

        stem = SnowballStemmer("english").stem
    elif name == "porter":
        from nltk.stem.porter import PorterStemmer

        stem = PorterStemmer().stem
    else:
        raise ValueError(f"unknown stemmer {name!r}; use 'snowball', 'porter' or 'none'")
    return lru_cache(maxsize=65536)(stem)


class Analyzer:
    """Text -> index terms, the same way for passages and questions."""

    def __init__(self, stemmer: StemmerName = "snowball") -> None:
        self.stemmer_name: StemmerName = stemmer
        self._stem = make_stemmer(stemmer)
        self._stopwords = load_stopwords()

    def terms(self, text: str) -> list[str]:
        """Return the stemmed, stopword-free terms of `text`, in order."""
        stop = self._stopwords
        stem = self._stem
        return [stem(tok) for tok in tokenize(normalize(text)) if tok not in stop]

    def stem(self, word: str) -> str:
        """Stem one already-normalised word."""
        return self._stem(word)
