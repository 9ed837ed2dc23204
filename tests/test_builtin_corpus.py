"""The built-in corpus: five documents, word for word from the seed articles, well chunked.

Rankings on this corpus change as retrieval is tuned, so these tests check structure and
text, not which passage ranks first.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from psoasbot import Assistant, Document, Passage
from psoasbot.chunking import chunk
from psoasbot.corpus import builtin_corpus_path, load_corpus

DATA = Path(__file__).parent / "data"
SEEDS = sorted((DATA / "seeds").glob("*.txt"))
NOISE = frozenset(
    line.strip()
    for line in (DATA / "seed_noise.txt").read_text(encoding="utf-8").splitlines()
    if line.strip()
)

# Where a sentence surely ends: ".", "!" or "?" (maybe closing a quote or bracket), then
# a space and a capital letter, digit or opening quote. Coarser than the chunker's own
# splitter on purpose, so a sentence the chunker cut in two is caught.
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][”\"’)]))\s+(?=[A-Z0-9“\"‘(])")


def collapse(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def docs() -> list[Document]:
    return load_corpus(builtin_corpus_path())


@pytest.fixture(scope="module")
def passages(docs: list[Document]) -> dict[str, list[Passage]]:
    return {doc.id: chunk(doc) for doc in docs}


def test_builtin_corpus_path_is_the_corpus_folder() -> None:
    path = builtin_corpus_path()
    assert path.is_dir()
    assert sorted(p.name for p in path.glob("*.md")) == [
        "exercises-for-relief.md",
        "muscle-of-the-soul.md",
        "psoas-key-to-pain-relief.md",
        "psoas-stretches-back-pain.md",
        "stretches-dont-help.md",
    ]
    assert load_corpus() == load_corpus(path)


def test_five_documents_with_their_titles_and_seeds(docs: list[Document]) -> None:
    assert [(d.id, d.title, d.source) for d in docs] == [
        (
            "exercises-for-relief",
            "Effective Exercises for Psoas Muscle Relief",
            "003_63d8ad0c6236cad1.txt",
        ),
        (
            "muscle-of-the-soul",
            "Psoas Muscle Pain Relief: 5 Ways to Heal the “Muscle of the Soul”",
            "002_cbbb8029297026db.txt",
        ),
        (
            "psoas-key-to-pain-relief",
            "Pain Relief – The Psoas Muscle Can Be the Key",
            "004_6d9ea142488017ad.txt",
        ),
        (
            "psoas-stretches-back-pain",
            "Relieve Back Pain With Easy Psoas Stretches",
            "001_a9a1e32b1d364924.txt",
        ),
        (
            "stretches-dont-help",
            "What To Do When Psoas Muscle Stretches Don’t Help",
            "000_e8ebea58b2d94d61.txt",
        ),
    ]
    assert sorted(d.source for d in docs) == [seed.name for seed in SEEDS]


def test_passage_sizes(passages: dict[str, list[Passage]]) -> None:
    sizes = [len(p.text.split()) for ps in passages.values() for p in ps]
    assert max(sizes) <= 160
    typical = sum(40 <= n <= 120 for n in sizes) / len(sizes)
    assert typical >= 0.70, f"only {typical:.0%} of {len(sizes)} passages have 40-120 words"


def test_passages_follow_the_sections_exactly(
    docs: list[Document], passages: dict[str, list[Passage]]
) -> None:
    """Each section's passages, in order, are its text: nothing lost, nothing crossing."""
    for doc in docs:
        remaining = list(passages[doc.id])
        for section in doc.sections:
            own = []
            while remaining and (remaining[0].section, remaining[0].parents) == (
                section.heading,
                section.parents,
            ):
                own.append(remaining.pop(0))
            assert own, f"{doc.id}: no passage for section {section.heading!r}"
            assert collapse(" ".join(p.text for p in own)) == collapse(
                " ".join(b.text for b in section.blocks)
            )
        assert remaining == []
        ps = passages[doc.id]
        assert [(p.id, p.position, p.doc_id, p.title) for p in ps] == [
            (f"{doc.id}#{n}", n, doc.id, doc.title) for n in range(len(ps))
        ]


@pytest.mark.parametrize("seed", SEEDS, ids=[seed.stem for seed in SEEDS])
def test_every_seed_sentence_is_quoted_verbatim(
    seed: Path, docs: list[Document], passages: dict[str, list[Passage]]
) -> None:
    [doc] = [d for d in docs if d.source == seed.name]
    texts = [collapse(p.text) for p in passages[doc.id]]
    headings = {s.heading for s in doc.sections} | {h for s in doc.sections for h in s.parents}
    missing = []
    checked = 0
    for line in seed.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.strip() in NOISE:
            continue
        text = collapse(line).removeprefix("•").strip()
        if text in headings:
            continue
        for sentence in _SENTENCE_END.split(text):
            checked += 1
            if not any(sentence in t for t in texts):
                missing.append(sentence)
    assert missing == []
    assert checked > 20


def test_no_noise_line_is_in_any_passage(passages: dict[str, list[Passage]]) -> None:
    texts = [p.text for ps in passages.values() for p in ps]
    assert len(NOISE) >= 10
    assert [line for line in NOISE if any(line in t for t in texts)] == []


def test_the_assistant_indexes_every_passage(passages: dict[str, list[Passage]]) -> None:
    assistant = Assistant.from_corpus()
    assert Assistant.from_corpus().index is assistant.index  # built once per process
    assert assistant.index.passages == [p for ps in passages.values() for p in ps]
    assert [(s.doc_id, s.passages) for s in assistant.sources()] == [
        (doc_id, len(ps)) for doc_id, ps in passages.items()
    ]


def test_a_psoas_question_is_answered_from_the_builtin_corpus() -> None:
    answer = Assistant.from_corpus().ask("How do I do the kneeling psoas stretch?")
    assert answer.status == "answered"
    assert 1 <= len(answer.passages) <= 3
    assert [h.rank for h in answer.passages] == list(range(1, len(answer.passages) + 1))
    assert all(" › " in h.citation or h.citation == h.passage.title for h in answer.passages)
