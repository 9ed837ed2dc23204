"""spelling.py: misspellings map to the articles' words; known words are never changed."""

from __future__ import annotations

import pytest

from psoasbot.spelling import Speller

WORDS = {"muscle": 30, "stretching": 12, "psoas": 40, "relieve": 5, "hamstrings": 2, "flexors": 3}


def speller(english: frozenset[str] = frozenset({"mattress", "muscles"})) -> Speller:
    return Speller(WORDS, extra=["iliopsoas", "hip"], is_english=english.__contains__)


@pytest.mark.parametrize(
    ("word", "correction"),
    [
        ("musle", "muscle"),  # a letter left out
        ("stretchng", "stretching"),
        ("psaos", "psoas"),  # two letters swapped: one edit
        ("releive", "relieve"),
        ("hamstings", "hamstrings"),
        ("flexers", "flexors"),
        ("illiopsoas", "iliopsoas"),  # a lexicon word, two edits from 9 letters
    ],
)
def test_a_misspelling_becomes_the_word_it_stands_for(word: str, correction: str) -> None:
    assert speller().correct(word) == correction


@pytest.mark.parametrize(
    "word",
    [
        "muscle",  # already a word of the articles
        "mattress",  # everyday English, however close
        "muscles",
        "psoa",  # shorter than 5 letters
        "stretchingggg",  # three edits away
        "l5",  # not all letters
        "zqxjv",  # nothing close
    ],
)
def test_known_short_or_far_words_are_left_alone(word: str) -> None:
    assert speller().correct(word) is None


def test_the_commoner_of_two_equally_close_words_wins() -> None:
    both = Speller({"flexor": 3, "flexes": 9}, is_english=lambda w: False)
    assert both.correct("flexos") == "flexes"


def test_english_is_checked_only_for_words_close_to_the_articles() -> None:
    asked: list[str] = []

    def is_english(word: str) -> bool:
        asked.append(word)
        return False

    s = Speller(WORDS, is_english=is_english)
    assert (s.correct("zqxjvw"), s.correct("musle"), s.correct("musle")) == (
        None,
        "muscle",
        "muscle",
    )
    assert asked == ["musle"]


def test_the_default_english_dictionary_knows_everyday_words() -> None:
    s = Speller({"matters": 1})
    assert s.correct("mattress") is None
    assert s.correct("matterss") == "matters"
