"""chunking.py: sentence splitting without nltk data, and passages that keep sentences whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from psoasbot import Passage
from psoasbot.chunking import MAX_WORDS, chunk, split_sentences
from psoasbot.corpus import load_corpus, parse_document


def words(n: int, word: str = "word") -> str:
    """A sentence of exactly n words, ending with a full stop."""
    return " ".join([word.capitalize()] + [word] * (n - 1)) + "."


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        (
            "It has been my experience that knee problems that aren’t caused by blunt force "
            "(i.e. a ski accident), are often a result of a chronically tight psoas muscle. "
            "And even when there is a traumatic reason, releasing the psoas can help.",
            [
                "It has been my experience that knee problems that aren’t caused by blunt "
                "force (i.e. a ski accident), are often a result of a chronically tight psoas "
                "muscle.",
                "And even when there is a traumatic reason, releasing the psoas can help.",
            ],
        ),
        (
            "For 15 years before graduating in 1994, Patrick Moore, L.M.T., intermittently "
            "taught algebra. He has now taught his workshops in 13 states.",
            [
                "For 15 years before graduating in 1994, Patrick Moore, L.M.T., intermittently "
                "taught algebra.",
                "He has now taught his workshops in 13 states.",
            ],
        ),
        (
            "Any other movements which make the leg rotate externally while it’s extended "
            "(ballet leg lifts, sit-ups, etc.) can strain these muscles. Too much sitting too.",
            [
                "Any other movements which make the leg rotate externally while it’s extended "
                "(ballet leg lifts, sit-ups, etc.) can strain these muscles.",
                "Too much sitting too.",
            ],
        ),
        (
            "Of course we walk with our feet straight which puts a twist where? "
            "That’s right…the joint that really doesn’t like to twist. The knee.",
            [
                "Of course we walk with our feet straight which puts a twist where?",
                "That’s right…the joint that really doesn’t like to twist.",
                "The knee.",
            ],
        ),
        (
            "Aim to stretch your psoas muscle at least 2-3 times a week. Think of it like "
            "exercising a new skill – you wouldn’t expect to master piano in one lesson, "
            "would you?",
            [
                "Aim to stretch your psoas muscle at least 2-3 times a week.",
                "Think of it like exercising a new skill – you wouldn’t expect to master piano "
                "in one lesson, would you?",
            ],
        ),
        (
            "This phenomenon is often referred to as “psoas tension,” and it’s a major "
            "contributor to low back pain. In fact, research has shown more.",
            [
                "This phenomenon is often referred to as “psoas tension,” and it’s a major "
                "contributor to low back pain.",
                "In fact, research has shown more.",
            ],
        ),
        (
            "Have you ever heard the phrase “warm up before you start stretching”? It’s more "
            "than just a cliché.",
            [
                "Have you ever heard the phrase “warm up before you start stretching”?",
                "It’s more than just a cliché.",
            ],
        ),
        (
            "Moore wrote “The Psoas: To Stretch or Not to Stretch?” for the March 2016 issue "
            "of MASSAGE Magazine. He also volunteers as a docent.",
            [
                "Moore wrote “The Psoas: To Stretch or Not to Stretch?” for the March 2016 "
                "issue of MASSAGE Magazine.",
                "He also volunteers as a docent.",
            ],
        ),
        (
            "Say goodbye to back pain with psoas stretches! Understanding the psoas is key.  "
            "Two spaces before this one.",
            [
                "Say goodbye to back pain with psoas stretches!",
                "Understanding the psoas is key.",
                "Two spaces before this one.",
            ],
        ),
        ("A paragraph without a final full stop", ["A paragraph without a final full stop"]),
    ],
    ids=[
        "i.e.",
        "L.M.T.",
        "etc.)",
        "question-and-ellipsis",
        "2-3-times",
        "quote-with-comma",
        "quoted-question-then-sentence",
        "quoted-question-mid-sentence",
        "exclamation-and-double-space",
        "no-final-stop",
    ],
)
def test_split_sentences_without_nltk_data(
    no_nltk_data: None, text: str, sentences: list[str]
) -> None:
    assert split_sentences(text) == sentences


def test_split_sentences_of_nothing() -> None:
    assert split_sentences("") == []
    assert split_sentences("   ") == []


def doc(body: str, doc_id: str = "d") -> list[Passage]:
    return chunk(parse_document(f"---\ntitle: T\n---\n{body}", doc_id=doc_id))


def test_tiny_document_passages(tiny_corpus: Path) -> None:
    accordion = load_corpus(tiny_corpus)[0]
    assert chunk(accordion) == [
        Passage(
            id="accordion#0",
            doc_id="accordion",
            title="The Accordion Stretch",
            section="",
            text="The accordion stretch opens the front of the hip in slow, even waves.",
            position=0,
            parents=(),
        ),
        Passage(
            id="accordion#1",
            doc_id="accordion",
            title="The Accordion Stretch",
            section="Getting Ready",
            text=(
                "Fold a blanket & kneel on it. You will need:\n"
                "- a folded blanket\n- a quiet room\n- ten minutes"
            ),
            position=1,
            parents=(),
        ),
        Passage(
            id="accordion#2",
            doc_id="accordion",
            title="The Accordion Stretch",
            section="Marigold Variation",
            text=(
                "Sway forward, then back, like bellows opening & closing. Keep the knee < 90 "
                "degrees and the hips > the heels."
            ),
            position=2,
            parents=("The Movement",),
        ),
    ]


def test_ids_are_stable_and_count_across_sections() -> None:
    body = "## A\n\nOne.\n\n## B\n\nTwo.\n\n### C\n\nThree.\n"
    first, second = doc(body, doc_id="x/y"), doc(body, doc_id="x/y")
    assert first == second
    assert [(p.id, p.position, p.section, p.parents) for p in first] == [
        ("x/y#0", 0, "A", ()),
        ("x/y#1", 1, "B", ()),
        ("x/y#2", 2, "C", ("B",)),
    ]


def test_short_sections_are_never_merged() -> None:
    assert [p.text for p in doc("## A\n\nShort one.\n\n## B\n\nShort two.\n")] == [
        "Short one.",
        "Short two.",
    ]


def test_a_heading_alone_is_never_a_passage() -> None:
    passages = doc("## Lonely Heading\n\n### Its Child\n\nThe only text.\n\n## Trailing\n")
    assert [(p.section, p.parents, p.text) for p in passages] == [
        ("Its Child", ("Lonely Heading",), "The only text.")
    ]


def test_long_paragraph_is_split_between_sentences() -> None:
    sentences = [words(10, f"w{i}") for i in range(30)]  # 300 words
    passages = doc(" ".join(sentences) + "\n")
    assert [p.text for p in passages] == [
        " ".join(sentences[0:12]),
        " ".join(sentences[12:24]),
        " ".join(sentences[24:30]),
    ]


def test_short_paragraphs_share_a_passage_until_min_words() -> None:
    a, b, c = words(15, "alpha"), words(30, "beta"), words(20, "gamma")
    assert [p.text for p in doc(f"{a}\n\n{b}\n\n{c}\n")] == [f"{a}\n\n{b}", c]


def test_a_short_remainder_joins_the_passage_before() -> None:
    a, b = " ".join([words(10, "alpha")] * 11), words(15, "beta")  # 110 + 15 words
    assert [p.text for p in doc(f"{a}\n\n{b}\n")] == [f"{a}\n\n{b}"]


def test_a_list_stays_with_the_sentence_that_introduces_it() -> None:
    filler = " ".join([words(10, "filler")] * 11)  # 110 words: the list does not fit
    body = (
        f"{filler} The stretch has three steps:\n\n"
        "- Kneel on the left knee.\n- Shift the hips forward.\n- Hold for thirty seconds.\n"
    )
    assert [p.text for p in doc(body)] == [
        filler,
        "The stretch has three steps:\n- Kneel on the left knee.\n- Shift the hips forward.\n"
        "- Hold for thirty seconds.",
    ]


def test_a_long_list_is_split_between_items_with_the_intro_on_the_first() -> None:
    items = [f"- {words(20, f'i{n}')}" for n in range(10)]  # 200 words
    passages = doc("Here are the items:\n\n" + "\n".join(items) + "\n")
    assert [p.text for p in passages] == [
        "Here are the items:\n" + "\n".join(items[0:5]),
        "\n".join(items[5:10]),
    ]


def test_a_loose_list_is_split_like_a_tight_one() -> None:
    """Markdown list items may be separated by blank lines; no passage grows past ~160 words."""
    items = [f"- {words(30, f'i{n}')}" for n in range(10)]  # 300 words
    tight = doc("The steps are:\n\n" + "\n".join(items) + "\n")
    loose = doc("The steps are:\n\n" + "\n\n".join(items) + "\n")
    assert [p.text for p in loose] == [p.text for p in tight]
    assert [len(p.text.split()) for p in loose] == [96, 93, 93, 31]


def test_a_sentence_longer_than_max_words_is_kept_whole() -> None:
    long_sentence = words(200, "long")
    before, after = words(10, "before"), words(10, "after")
    passages = doc(f"{before} {long_sentence} {after}\n")
    assert [p.text for p in passages] == [before, long_sentence, after]


@pytest.mark.parametrize(
    "sizes",
    [[7, 23, 41, 5, 60, 12, 3, 90], [119, 2, 2, 2], [40] * 9, [1] * 150, [33, 161, 33]],
    ids=["mixed", "one-big-then-tiny", "exact-min", "many-tiny", "one-too-long"],
)
def test_passage_sizes_and_nothing_lost(sizes: list[int]) -> None:
    sentences = [words(n, f"s{i}") for i, n in enumerate(sizes)]
    passages = doc(" ".join(sentences) + "\n")
    assert " ".join(p.text for p in passages) == " ".join(sentences)
    for p in passages:
        n = len(p.text.split())
        assert n <= MAX_WORDS * 4 // 3 or p.text in sentences, p.text
        assert p.text.endswith(".")
