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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from psoasbot.index import Index
from psoasbot.lexicon import NOT_OFF_TOPIC, PhraseTable, Subject, default_off_topic
from psoasbot.models import Hit, Verdict
from psoasbot.query import Query
from psoasbot.vocabulary import Vocabulary

# The most topical words a verdict names.
_NAMED = 3


@dataclass(frozen=True)
class ScopeSettings:
    """When a question is about what the articles cover.

    Attributes:
        min_topicality: a question names what the articles are about when one of its
            terms is at least this topical (log of how much more common in the articles
            than in English; fitted by cross-validation, see docs/quality.md).
        off_topic: refuse a question whose asking sentence names a subject of
            data/off_topic.tsv.
    """

    min_topicality: float = 1.0
    off_topic: bool = True


class Scope:
    """The "not covered" rule over one index and its vocabulary."""

    def __init__(
        self,
        index: Index,
        vocabulary: Vocabulary,
        settings: ScopeSettings | None = None,
        off_topic: PhraseTable[Subject] | None = None,
    ) -> None:
        self.index = index
        self.vocabulary = vocabulary
        self.settings = settings or ScopeSettings()
        self._off_topic = off_topic or default_off_topic(index.settings.stemmer)

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
        if not hits:
            return Verdict(
                False, "no passage shares a word with the question", named, off, topicality
            )
        if not query.words and query.broad:  # "where is it?": the subject, named by no word
            return Verdict(True, "the question asks about the articles' subject as a whole")
        if topicality < self.settings.min_topicality:
            why = (
                f"its most topical word, {named[0]!r}, is hardly more common in the articles "
                "than in everyday English"
                if named
                else "it names nothing the articles are about"
            )
            return Verdict(
                False,
                f"the question is not about the articles' subject: {why}",
                named,
                off,
                topicality,
            )
        if off:
            return Verdict(
                False,
                f"the question asks about {', '.join(off)}, which the articles don't cover",
                named,
                off,
                topicality,
            )
        return Verdict(
            True, f"the question is about {', '.join(map(repr, named))}", named, off, topicality
        )

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

    def off_topic_subjects(self, query: Query) -> list[Subject]:
        """Return the off-topic subjects named in the question's asking sentences."""
        return [
            match.value
            for terms in query.asking_terms
            for match in self._off_topic.find(terms)
            if match.value.category != NOT_OFF_TOPIC
        ]
