"""Split documents into passages that read well alone and never cross a section or a sentence."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from psoasbot.models import Block, Document, Passage, Section

MIN_WORDS = 40
MAX_WORDS = 120

# Punkt needs no downloaded model when it is given its abbreviations: without them it
# would end a sentence at "i.e." or "L.M.T.". Lower case, without the final full stop.
ABBREVIATIONS = frozenset(
    """
    a.m approx ca cf dept dr e.g etc fig i.e inc jr l.m.t lt ltd mr mrs ms mt no p.m
    prof sr st u.k u.s vs vol
    """.split()
)


@dataclass(frozen=True)
class _Unit:
    """A piece no passage may split: a sentence, or a list with the sentence before it.

    `sep` is how it joins the unit before it in a passage: " " inside a paragraph,
    "\n\n" at a new paragraph, "\n" before a list item.
    """

    text: str
    words: int
    sep: str

    @property
    def starts_block(self) -> bool:
        return self.sep == "\n\n"


@lru_cache(maxsize=1)
def _sentence_tokenizer():  # type: ignore[no-untyped-def]
    from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

    params = PunktParameters()
    params.abbrev_types = set(ABBREVIATIONS)
    return PunktSentenceTokenizer(params)


def split_sentences(text: str) -> list[str]:
    """Split a paragraph into sentences, each an exact slice of `text`."""
    spans: list[list[int]] = []
    for start, end in _sentence_tokenizer().span_tokenize(text):
        # Punkt ends a sentence at every "?" or "!", even inside a quotation the sentence
        # goes on after ('wrote “To Stretch or Not to Stretch?” for the March issue'); a
        # piece that starts in lower case continues the sentence before it.
        if spans and text[start:end][:1].islower():
            spans[-1][1] = end
        else:
            spans.append([start, end])
    return [text[start:end] for start, end in spans if text[start:end].strip()]


def chunk(doc: Document, min_words: int = MIN_WORDS, max_words: int = MAX_WORDS) -> list[Passage]:
    """Split a document into passages that never cross a section or a sentence.

    Sentences are packed in order until the next would pass `max_words`; a new paragraph
    starts a new passage once the current one has `min_words`. A list stays with the
    sentence that introduces it, and a short remainder joins the passage before it.
    """
    passages: list[Passage] = []
    for section in doc.sections:
        for text in _pack(_units(section.blocks, max_words), min_words, max_words):
            passages.append(_passage(doc, section, text, len(passages)))
    return passages


def chunk_all(
    docs: Iterable[Document], min_words: int = MIN_WORDS, max_words: int = MAX_WORDS
) -> Iterator[Passage]:
    """Chunk documents one after another, streaming the passages."""
    for doc in docs:
        yield from chunk(doc, min_words, max_words)


def _passage(doc: Document, section: Section, text: str, position: int) -> Passage:
    return Passage(
        id=f"{doc.id}#{position}",
        doc_id=doc.id,
        title=doc.title,
        section=section.heading,
        text=text,
        position=position,
        parents=section.parents,
    )


def _units(blocks: Iterable[Block], max_words: int) -> list[_Unit]:
    units: list[_Unit] = []
    for block in blocks:
        if block.kind == "list":
            items = [_Unit(item, _count(item), "\n") for item in block.text.split("\n")]
            # The sentence just before a list introduces it ("...include:"): they stay one.
            if units:
                intro = units.pop()
                items[0] = _Unit(
                    intro.text + "\n" + items[0].text, intro.words + items[0].words, intro.sep
                )
            else:
                items[0] = _Unit(items[0].text, items[0].words, "\n\n")
            whole = sum(u.words for u in items)
            if whole <= _stretched(max_words):
                units.append(_Unit("\n".join(u.text for u in items), whole, items[0].sep))
            else:
                units.extend(items)
            continue
        for i, sentence in enumerate(split_sentences(block.text)):
            units.append(_Unit(sentence, _count(sentence), "\n\n" if i == 0 else " "))
    return units


def _stretched(max_words: int) -> int:
    """How long a passage may grow to keep a list whole or take in a short remainder."""
    return max_words * 4 // 3


def _count(text: str) -> int:
    return len(text.split())


def _pack(units: list[_Unit], min_words: int, max_words: int) -> list[str]:
    groups: list[list[_Unit]] = []
    words = 0
    for unit in units:
        if (
            not groups
            or words + unit.words > max_words
            or (unit.starts_block and words >= min_words)
        ):
            groups.append([unit])
            words = unit.words
        else:
            groups[-1].append(unit)
            words += unit.words
    # A short remainder reads badly alone: give it to the passage before, if it fits.
    if len(groups) > 1:
        last = sum(u.words for u in groups[-1])
        before = sum(u.words for u in groups[-2])
        if last < min_words // 2 and before + last <= _stretched(max_words):
            groups[-2].extend(groups.pop())
    return ["".join((u.sep if i else "") + u.text for i, u in enumerate(group)) for group in groups]
