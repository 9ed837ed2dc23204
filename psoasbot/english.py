"""How often everyday English uses each word: the word counts that ship with symspellpy.

82,765 words with their counts in Google Books Ngram data (symspellpy's English frequency
dictionary, MIT licence). Spelling uses it to leave real words alone; the vocabulary uses
it to tell the articles' topical words ("psoas", "stretch") from everyday ones ("day").
Loaded on first use (about 0.1 s), then kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from importlib import resources

_FILE = "frequency_dictionary_en_82_765.txt"


@lru_cache(maxsize=1)
def english_counts() -> Mapping[str, int]:
    """Return each English word (lower case) with how often it occurs."""
    text = resources.files("symspellpy").joinpath(_FILE).read_text("utf-8")
    fields = text.split()
    return dict(zip(fields[0::2], map(int, fields[1::2]), strict=True))


@lru_cache(maxsize=1)
def english_total() -> int:
    """Return the number of words the counts were taken from."""
    return sum(english_counts().values())
