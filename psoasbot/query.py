"""Question -> Query: what a message asks, in the index's terms.

A message is read sentence by sentence, and each sentence is known to ask (a question
mark, or a question word first: how, what, can, should ...) or to tell the story around
the question ("my physio said ...", "I'm a software dev ..."); a message with no asking
sentence is all question ("psoas attachment points"). Scope looks for off-topic subjects
in the asking sentences only. Ranking weighs the whole message alike: weighting the story
down cost first places on both development sets, since the story usually says what the
question is about ("been stretching my hip flexors for 3 months ... why isn't it working?";
docs/quality.md).

Each word is read as the index reads the articles (stopwords dropped, stemmed), after a
misspelling is corrected (spelling.py), and lay phrases add the articles' terms
(lexicon.py). A message that names nothing but what the articles are about as a whole
("psoas", "what is the psoas muscle?", "where is it?") is broad: retrieval answers it with
the passages that introduce the subject.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from psoasbot.chunking import ABBREVIATIONS
from psoasbot.index import Index
from psoasbot.lexicon import Lexicon, default_lexicon
from psoasbot.spelling import Speller
from psoasbot.vocabulary import Vocabulary

if TYPE_CHECKING:
    import numpy as np

# A sentence asks when it has a question mark or starts with one of these words.
QUESTION_WORDS = frozenset(
    """how what whats why when where which who whom whose is are am was were can could
    should shall would will do does did has have any anything explain describe tell show
    list recommend suggest help advise""".split()
)
# A term in at least this share of the article titles is what the articles are about as
# a whole ("psoas" and "muscle" here): a question naming only such terms is broad.
TOPIC_TITLE_SHARE = 0.75
# A sentence ends at ., ! or ? followed by a space (unless the word is an abbreviation:
# "e.g. this"), or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\s*\n\s*")
_LAST_WORD = re.compile(r"(\S+)[.]$")


@dataclass(frozen=True)
class QuerySettings:
    """How a question is matched against the passages; none of it changes the index.

    The weights were fitted by 5-fold cross-validation on the two development question
    sets (benchmarks/quality_cv.py; docs/quality.md has the figures).

    Attributes:
        expansion_weight: weight of an article term added by the lay-term lexicon (the
            question's own words weigh 1).
        semantic_weight: with semantic matching on, the share of a passage's ranking score
            that comes from its similarity to the question (the rest from BM25).
        lexicon: expand the question with the lay-term lexicon (data/lexicon.tsv).
        spelling: correct misspelt words to the articles' or the lexicon's words.
        overview: answer a broad question ("what is the psoas?") with the passages whose
            headings introduce the subject.
        diversity: move down a candidate that repeats a sentence (or nearly all the terms)
            of a passage ranked above it.
    """

    expansion_weight: float = 1.0
    semantic_weight: float = 0.5
    lexicon: bool = True
    spelling: bool = True
    overview: bool = True
    diversity: bool = True


@dataclass(frozen=True)
class Sentence:
    """One sentence of a message: its terms (misspellings corrected) and whether it asks."""

    terms: tuple[str, ...]
    asking: bool


@dataclass(frozen=True)
class Query:
    """A question as retrieval and scope see it.

    Attributes:
        groups: each question term -> the index terms that may match it, with their
            weights: the term itself at 1, its lexicon synonyms at the expansion weight.
        weights: each index term -> its highest weight in any group: what BM25 is asked.
        sentences: the message's sentences, in order.
        corrections: each misspelt word -> the word it was read as.
        words: each question term -> the word it was first written as (corrected).
        broad: the question names only what the articles are about as a whole.
        vector: with semantic matching on, the question's vector (semantic.py); None
            otherwise.
        similarities: with semantic matching on, each passage's similarity (cosine) to the
            question, in index order; None otherwise.
    """

    groups: Mapping[str, Mapping[str, float]]
    weights: Mapping[str, float]
    sentences: tuple[Sentence, ...] = ()
    corrections: Mapping[str, str] = field(default_factory=dict)
    words: Mapping[str, str] = field(default_factory=dict)
    broad: bool = False
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)
    similarities: np.ndarray | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_groups(
        cls,
        groups: Mapping[str, Mapping[str, float]],
        sentences: Sequence[Sentence] = (),
        corrections: Mapping[str, str] | None = None,
        words: Mapping[str, str] | None = None,
        broad: bool = False,
    ) -> Query:
        """Make a query from its groups, working out the weight of each index term."""
        weights: dict[str, float] = {}
        for alternatives in groups.values():
            for term, weight in alternatives.items():
                weights[term] = max(weight, weights.get(term, 0.0))
        return cls(
            groups, weights, tuple(sentences), dict(corrections or {}), dict(words or {}), broad
        )

    @property
    def asking_terms(self) -> list[tuple[str, ...]]:
        """Return the terms of each asking sentence (all sentences if none asks)."""
        return [s.terms for s in self.sentences if s.asking]


def topic_terms(index: Index) -> frozenset[str]:
    """Return the terms most article titles share: what the articles are about as a whole."""
    titles = index.titles
    counts: dict[str, int] = {}
    for title in titles:
        for term in title:
            counts[term] = counts.get(term, 0) + 1
    return frozenset(t for t, n in counts.items() if n >= TOPIC_TITLE_SHARE * len(titles))


def split_sentences(message: str) -> list[str]:
    """Split a message into sentences at ., ! or ? and a space, and at line breaks."""
    sentences: list[str] = []
    start = 0
    text = message.strip()
    for end in _SENTENCE_END.finditer(text):
        piece = text[start : end.start()]
        word = _LAST_WORD.search(piece)
        if "\n" not in end.group() and word and word.group(1).lower() in ABBREVIATIONS:
            continue  # "e.g. this stays whole"
        sentences.append(piece)
        start = end.end()
    sentences.append(text[start:])
    return [s for s in sentences if s]


class QueryBuilder:
    """Turns messages into queries over one index."""

    def __init__(
        self,
        index: Index,
        vocabulary: Vocabulary,
        settings: QuerySettings | None = None,
        lexicon: Lexicon | None = None,
    ) -> None:
        self.index = index
        self.settings = settings = settings or QuerySettings()
        self.analyzer = index.analyzer
        self.topic = topic_terms(index)
        self._lexicon: Lexicon | None = None
        if settings.lexicon:
            self._lexicon = lexicon or default_lexicon(index.settings.stemmer)
        lexicon_words = self._lexicon.words if self._lexicon else frozenset()
        self._known = lambda term: term in lexicon_words or index.idf(term) > 0
        self._speller: Speller | None = None
        if settings.spelling:
            lay_words = self._lexicon.lay_words if self._lexicon else ()
            self._speller = Speller(vocabulary.words, lay_words)

    def build(self, message: str) -> Query:
        """Read a message: its sentences, corrections, lay phrases and breadth."""
        s = self.settings
        pieces = [(text, self.analyzer.tokens(text)) for text in split_sentences(message)]
        # A sentence asks with a question mark or a question word first; "where is it?"
        # names the subject as a whole only with the word.
        worded = [bool(tokens) and tokens[0] in QUESTION_WORDS for _, tokens in pieces]
        asks = [w or "?" in text for w, (text, _) in zip(worded, pieces, strict=True)]
        if not any(asks):
            asks = [True] * len(pieces)
        groups: dict[str, dict[str, float]] = {}
        sentences: list[Sentence] = []
        corrections: dict[str, str] = {}
        words: dict[str, str] = {}
        for (_, tokens), asking in zip(pieces, asks, strict=True):
            terms = []
            for token in tokens:
                term = self.analyzer.term(token)
                if not term:
                    continue
                if self._speller is not None and not self._known(term):
                    correction = self._speller.correct(token)
                    if correction is not None:
                        corrections[token] = token = correction
                        term = self.analyzer.term(correction)
                terms.append(term)
                words.setdefault(term, token)
                groups.setdefault(term, {term: 1.0})
            sentences.append(Sentence(tuple(terms), asking))
        if self._lexicon is not None:
            for sentence in sentences:
                expansions = self._lexicon.expand(sentence.terms)
                for term, synonyms in expansions.items():
                    for synonym in synonyms:
                        groups[term].setdefault(synonym, s.expansion_weight)
        broad = self._is_broad(groups, any(worded))
        if broad and not groups:
            groups = {term: {term: 1.0} for term in sorted(self.topic)}
        return Query.from_groups(groups, sentences, corrections, words, broad)

    def _is_broad(self, groups: Mapping[str, Mapping[str, float]], worded: bool) -> bool:
        """Tell whether every term names the subject as a whole.

        A question with no term at all is broad when it starts with a question word
        ("where is it?"), not when it is only "?" or "thanks".
        """
        if not groups:
            return worded
        return all(self.topic.intersection(alternatives) for alternatives in groups.values())
