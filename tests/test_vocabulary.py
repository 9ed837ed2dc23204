"""vocabulary.py: the corpus's words for spelling, and how topical each term is."""

from __future__ import annotations

import math
import pickle

import pytest

from psoasbot.english import english_counts, english_total
from psoasbot.index import Index
from psoasbot.models import Passage
from psoasbot.vocabulary import ENGLISH_FLOOR, Vocabulary


def passage(n: int, text: str) -> Passage:
    return Passage(f"d#{n}", "d", "Notes", "", text, n)


PASSAGES = [
    passage(0, "The psoas muscle joins the spine to the femur."),
    passage(1, "Stretch the psoas gently every day."),
    passage(2, "A day of sitting shortens the psoas."),
]


def test_topicality_compares_the_articles_with_everyday_english() -> None:
    index = Index(PASSAGES)
    vocabulary = Vocabulary.from_index(index)
    df = {"psoa": 3, "day": 2}  # passages with the term
    total = sum((len(index) + 1) / math.exp(index.idf(t)) for t in vocabulary.topicality)
    english = english_counts()

    def expected(term: str, words: list[str]) -> float:
        in_english = sum(english.get(w, 0) for w in words) + ENGLISH_FLOOR
        return math.log((df[term] / total) / (in_english / english_total()))

    assert vocabulary.topicality["psoa"] == expected("psoa", ["psoas"])
    assert vocabulary.topicality["day"] == expected("day", ["day"])
    assert vocabulary.topicality["psoa"] > vocabulary.topicality["day"] + 5


def test_numbers_short_words_and_unindexed_titles_are_left_out() -> None:
    vocabulary = Vocabulary.from_index(Index([passage(0, "Hold it 30 seconds, arm up.")]))
    assert "30" not in vocabulary.topicality
    # "Notes" is a title: a field of its own, not indexed as text
    assert set(vocabulary.words) == {"hold", "seconds"}
    assert vocabulary.topicality_of("zqxjv") == -math.inf


def test_an_index_loaded_from_disk_gives_the_same_vocabulary() -> None:
    index = Index(PASSAGES)
    built = Vocabulary.from_index(index)
    loaded = Vocabulary.from_index(pickle.loads(pickle.dumps(index)))
    assert loaded == built


def test_spelling_keeps_the_most_frequent_words_of_a_huge_corpus(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("psoasbot.vocabulary.MAX_SPELLING_WORDS", 2)
    vocabulary = Vocabulary.from_index(Index(PASSAGES))
    # psoas is in 3 passages; of the words in one, the first alphabetically
    assert set(vocabulary.words) == {"psoas", "every"}
