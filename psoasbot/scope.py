"""When the articles cover a question: decided by what the question is about.

This is the one place to change when psoasbot says "the articles don't cover this". A
question is covered when

1. it names something the articles are about: one of its words (or a lay phrase's
   article term) is at least `min_topicality` more common in the articles than in
   everyday English (vocabulary.py): "psoas", "hip", "stretch", "sitting" are; "printer",
   "capital", "day" are not; and
2. the sentence that asks it names no subject the articles leave out
   (data/off_topic.tsv: medications, supplements, surgery, tests, other conditions and
   muscles, pregnancy, diet, animals, prices, subjects outside health). "How much
   ibuprofen can I take for back pain?" is about a medication dose, though it says "back
   pain"; "my hamstrings are like guitar strings. Is something else going on?" mentions
   a guitar only in the story.

Words the articles and the lexicon don't know are evidence only about the subject they
name: a typo, a number, a greeting or a long story around the question changes nothing.
The `Verdict` says why, in words.

With semantic matching on (semantic.py), meaning is evidence too: a question is about an
off-topic subject when one of the list's phrases is closer to it in meaning than the
closest passage is, by at least `off_topic_margin` ("can I claim sick pay for a bad
back?" is close to "insurance claim", and to no passage). Only phrases that name nothing
the articles are about take part: "psoas abscess" is close to every psoas question (its
words find it all the same). The margin was fitted by cross-validation;
thresholds on the closest passage's similarity alone refused nothing more
(docs/quality.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from psoasbot.index import Index
from psoasbot.lexicon import NOT_OFF_TOPIC, PhraseTable, Subject, default_off_topic
from psoasbot.models import Hit, Verdict
from psoasbot.query import Query
from psoasbot.vocabulary import Vocabulary

if TYPE_CHECKING:
    from psoasbot.semantic import SemanticIndex

# The most topical words a verdict names.
_NAMED = 3
# An off-topic phrase with a word at least this topical is not compared by meaning.
_SUBJECT_TOPICALITY = 1.0


@dataclass(frozen=True)
class ScopeSettings:
    """When a question is about what the articles cover.

    Attributes:
        min_topicality: a question names what the articles are about when one of its
            terms is at least this topical (log of how much more common in the articles
            than in English; fitted by cross-validation, see docs/quality.md).
        off_topic: refuse a question whose asking sentence names a subject of
            data/off_topic.tsv.
        off_topic_margin: with semantic matching on (and `off_topic`), refuse a question
            an off-topic phrase is closer to than any passage, by at least this (cosine).
    """

    min_topicality: float = 1.0
    off_topic: bool = True
    off_topic_margin: float = 0.1


class Scope:
    """The "not covered" rule over one index and its vocabulary."""

    def __init__(
        self,
        index: Index,
        vocabulary: Vocabulary,
        settings: ScopeSettings | None = None,
        off_topic: PhraseTable[Subject] | None = None,
        semantic: SemanticIndex | None = None,
    ) -> None:
        self.index = index
        self.vocabulary = vocabulary
        self.settings = settings or ScopeSettings()
        self._off_topic = off_topic or default_off_topic(index.settings.stemmer)
        self._subjects: list[Subject] = []
        self._subject_vectors = None
        if semantic is not None:
            terms = {subject: phrase for phrase, subject in self._off_topic.items()}
            subjects = semantic.subjects.subjects
            keep = [n for n, s in enumerate(subjects) if self._comparable(s, terms.get(s, ()))]
            self._subjects = [subjects[n] for n in keep]
            self._subject_vectors = semantic.subjects.vectors[keep]

    def judge(self, query: Query, hits: Sequence[Hit]) -> Verdict:
        """Decide whether the articles cover the question, and say why."""
        topical = self.topical_terms(query) if query.words else []
        threshold = self.settings.min_topicality
        named = tuple(query.words.get(t, t) for t, v in topical if v >= threshold)[:_NAMED]
        if not named and topical:  # none is topical enough: name the most topical
            named = (query.words.get(topical[0][0], topical[0][0]),)
        topicality = topical[0][1] if topical else float("-inf")
        subjects = self.off_topic_subjects(query) if self.settings.off_topic else []
        off = tuple(dict.fromkeys(f"{s.phrase} ({s.category.replace('_', ' ')})" for s in subjects))
        similarity = None
        if query.similarities is not None and len(query.similarities):
            similarity = float(query.similarities.max())
            if self.settings.off_topic and not off:
                off = self._off_topic_by_meaning(query, similarity)

        def verdict(covered: bool, reason: str) -> Verdict:
            return Verdict(covered, reason, named, off, topicality, similarity)

        if not hits:
            return verdict(False, "no passage shares a word with the question")
        if not query.words and query.broad:  # "where is it?": the subject, named by no word
            return Verdict(
                True,
                "the question asks about the articles' subject as a whole",
                similarity=similarity,
            )
        if topicality < self.settings.min_topicality:
            why = (
                f"its most topical word, {named[0]!r}, is hardly more common in the articles "
                "than in everyday English"
                if named
                else "it names nothing the articles are about"
            )
            return verdict(False, f"the question is not about the articles' subject: {why}")
        if off:
            return verdict(
                False, f"the question asks about {', '.join(off)}, which the articles don't cover"
            )
        return verdict(True, f"the question is about {', '.join(map(repr, named))}")

    def topical_terms(self, query: Query) -> list[tuple[str, float]]:
        """Return the question's terms (or their lexicon synonyms) by topicality, highest first.

        A question term counts with its most topical alternative, so "hip flexor" counts
        as "psoas".
        """
        best: dict[str, float] = {}
        topicality = self.vocabulary.topicality_of
        for term, alternatives in query.groups.items():
            value = max(topicality(a) for a in alternatives)
            if value > float("-inf"):
                best[term] = value
        return sorted(best.items(), key=lambda item: (-item[1], item[0]))

    def _comparable(self, subject: Subject, terms: Sequence[str]) -> bool:
        """Tell whether an off-topic phrase (and its terms) names nothing the articles are
        about."""
        if subject.category == NOT_OFF_TOPIC or not terms:
            return False
        topicality = self.vocabulary.topicality_of
        return all(topicality(t) < _SUBJECT_TOPICALITY for t in terms)

    def closest_subject(self, query: Query) -> tuple[Subject, float] | None:
        """Return the off-topic phrase closest in meaning to the question, and its cosine.

        None without semantic matching. Only phrases that name nothing the articles are
        about take part.
        """
        if self._subject_vectors is None or not self._subjects or query.vector is None:
            return None
        from psoasbot.semantic import cosines

        values = cosines(self._subject_vectors, query.vector)
        best = int(values.argmax())
        return self._subjects[best], float(values[best])

    def _off_topic_by_meaning(self, query: Query, similarity: float) -> tuple[str, ...]:
        """Name the off-topic phrase closest to the question, if closer than any passage."""
        closest = self.closest_subject(query)
        if closest is None or closest[1] - similarity < self.settings.off_topic_margin:
            return ()
        subject = closest[0]
        return (f"{subject.phrase} ({subject.category.replace('_', ' ')}, by meaning)",)

    def off_topic_subjects(self, query: Query) -> list[Subject]:
        """Return the off-topic subjects named in the question's asking sentences."""
        return [
            match.value
            for terms in query.asking_terms
            for match in self._off_topic.find(terms)
            if match.value.category != NOT_OFF_TOPIC
        ]
