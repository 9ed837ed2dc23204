"""analysis.py: normalisation, tokens, stopwords and stemming (passages and questions alike)."""

from __future__ import annotations

import random
import re
import string
import sys

import pytest

from psoasbot.analysis import (
    Analyzer,
    StemmerName,
    load_stopwords,
    normalize,
    tokenize,
)


def test_normalize_applies_nfkc_maps_typography_and_folds_case() -> None:
    assert normalize("“Hip” — ‘Flexor’ – ＰＳＯＡＳ ﬁbres Straße") == (
        "\"hip\" - 'flexor' - psoas fibres strasse"
    )


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("The psoas doesn't relax", ["psoa", "relax"]),
        ("The psoas doesn’t relax", ["psoa", "relax"]),
        ("THE PSOAS DOESN‘T RELAX", ["psoa", "relax"]),
        ("the psoas's tendon", ["psoa", "tendon"]),
        ("the muscle’s tone", ["muscl", "tone"]),
        ("and the of is it’s don’t", []),
        ("Stretching stretches stretched", ["stretch", "stretch", "stretch"]),
        ("hip—flexor, hip–flexor", ["hip", "flexor", "hip", "flexor"]),
        ("L4–L5 disc", ["l4", "l5", "disc"]),
        ("ＰＳＯＡＳ ﬁbres", ["psoa", "fibr"]),
        ("psoas 💪🔥 pain 😣", ["psoa", "pain"]),
        ("💪🔥", []),
        ("hip_flexor snake_case", ["hip", "flexor", "snake", "case"]),
    ],
    ids=[
        "straight-apostrophe",
        "curly-apostrophe",
        "upper-case",
        "possessive",
        "curly-possessive",
        "stopwords",
        "snowball-stemming",
        "dashes",
        "digits",
        "nfkc",
        "emoji-dropped",
        "emoji-only",
        "underscore-splits",
    ],
)
def test_terms(text: str, terms: list[str]) -> None:
    assert Analyzer().terms(text) == terms


class _Numbering(dict[str, int]):
    def __missing__(self, term: str) -> int:
        self[term] = number = len(self) + 1
        return number


def test_term_ids_number_the_terms_that_terms_gives() -> None:
    analyzer = Analyzer()
    vocabulary = _Numbering()
    ids_of = analyzer.term_ids(vocabulary)
    texts = [
        "Stretching stretches the psoas; the PSOAS doesn't relax",
        "and the of is it's",
        "ＰＳＯＡＳ ﬁbres 💪 stretched again",
    ]
    got = [ids_of(text) for text in texts]
    assert got == [[1, 1, 2, 2, 3], [], [2, 4, 1]]  # "again" is a stopword
    term_of = {number: term for term, number in vocabulary.items()}
    for text, ids in zip(texts, got, strict=True):
        assert [term_of[i] for i in ids] == analyzer.terms(text)


def test_ascii_tokens_are_the_runs_of_letters_and_digits() -> None:
    rng = random.Random(5)
    for _ in range(2000):
        text = "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 60)))
        text = text.replace("'", "")  # apostrophes join words: tested above
        assert tokenize(text) == re.findall(r"[^\W_]+", text)


def test_ascii_and_unicode_text_normalise_alike() -> None:
    # ASCII text takes a shortcut (only its case is folded); it must agree with the full path.
    for text in ["Psoas MUSCLE, Hip-Flexor's 30 Seconds!", "I'M FINE", "L4/L5 (disc)"]:
        assert normalize(text) == normalize(text + "é")[:-1]


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Поясничная мышца болит", ["поясничная", "мышца", "болит"]),
        ("腰大肌 疼痛", ["腰大肌", "疼痛"]),
        ("عضلة الورك", ["عضلة", "الورك"]),
        ("근육 통증", ["근육", "통증"]),
        ("tiếng Việt, café", ["tiếng", "việt", "café"]),
        ("मांसपेशी में दर्द", ["मांसपेशी", "में", "दर्द"]),
        ("กล้ามเนื้อ", ["กล้ามเนื้อ"]),
        ("ψοΐτης İstanbul", ["ψοΐτησ", "i̇stanbul"]),
    ],
    ids=["cyrillic", "chinese", "arabic", "korean", "latin-accents", "hindi", "thai", "greek"],
)
def test_other_scripts_are_tokenized_whole(text: str, tokens: list[str]) -> None:
    assert tokenize(normalize(text)) == tokens
    assert Analyzer().terms(text) == tokens  # the English stemmer leaves them alone


def test_shipped_stopwords_load_without_nltk(monkeypatch: pytest.MonkeyPatch) -> None:
    load_stopwords.cache_clear()
    monkeypatch.setitem(sys.modules, "nltk", None)  # any import of nltk now fails
    monkeypatch.setitem(sys.modules, "nltk.corpus", None)
    try:
        stopwords = load_stopwords()
    finally:
        load_stopwords.cache_clear()
    assert {"the", "and", "doesn", "doesnt", "dont", "it", "is"} <= stopwords
    assert not {"psoas", "pain", "hip", "stretch", "#"} & stopwords
    assert len(stopwords) > 170


@pytest.mark.parametrize(
    ("stemmer", "terms"),
    [
        ("snowball", ["stretch", "relax", "generous"]),
        ("porter", ["stretch", "relax", "gener"]),
        ("none", ["stretching", "relaxation", "generously"]),
    ],
    ids=["snowball", "porter", "none"],
)
def test_stemmers_need_no_nltk_data(
    no_nltk_data: None, stemmer: StemmerName, terms: list[str]
) -> None:
    analyzer = Analyzer(stemmer)
    assert analyzer.terms("Stretching relaxation generously") == terms


def test_unknown_stemmer() -> None:
    with pytest.raises(ValueError, match="^unknown stemmer 'lancaster'; use 'snowball', "):
        Analyzer("lancaster")  # type: ignore[arg-type]
