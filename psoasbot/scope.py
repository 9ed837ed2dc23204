"""When the articles cover a question: the "not covered" rule, its threshold and its reasons.

This is the one place to change when psoasbot says "the articles don't cover this". The
rule sees the query and the best candidates that retrieval found, and returns a `Verdict`:
covered or not, the confidence it is based on, and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from psoasbot.index import Index
from psoasbot.models import Hit, Passage
from psoasbot.retrieval import Query


@dataclass(frozen=True)
class ScopeSettings:
    """When the best passage is good enough to answer with.

    Attributes:
        min_confidence: below this share of the question's information matched by the
            best passage, the answer is `no_match` (calibrated on the dev set, see
            docs/quality.md).
        generic_terms: words too general to show that the articles cover a question; a
            question matched only through them is not covered.
    """

    min_confidence: float = 0.375
    generic_terms: tuple[str, ...] = ("psoas", "back", "pain", "muscle", "hurt", "help")


@dataclass(frozen=True)
class Verdict:
    """Whether the articles cover a question, the confidence that says so, and why."""

    covered: bool
    confidence: float
    reason: str


class Scope:
    """The "not covered" rule over one index."""

    def __init__(self, index: Index, settings: ScopeSettings | None = None) -> None:
        self.index = index
        self.settings = settings or ScopeSettings()
        self._generic = frozenset(index.analyzer.terms(" ".join(self.settings.generic_terms)))

    def judge(self, query: Query, hits: Sequence[Hit]) -> Verdict:
        """Decide from the best candidate whether the articles cover the question."""
        if not hits:
            return Verdict(False, 0.0, "no passage shares a word with the question")
        confidence = self.confidence(query, hits[0].passage)
        threshold = self.settings.min_confidence
        if confidence == 0.0:
            return Verdict(False, 0.0, "the best passage matches none but generic words")
        share = f"the best passage matches {confidence:.2f} of the question's information"
        if confidence < threshold:
            return Verdict(False, confidence, f"{share}, below {threshold}")
        return Verdict(True, confidence, f"{share}, at least {threshold}")

    def confidence(self, query: Query, passage: Passage) -> float:
        """Return the share of the question's information that a passage matches.

        Each question term counts by its IDF (`information`), and is matched when the
        passage has it, or, at the expansion weight, a lexicon synonym of it. Unlike a raw
        BM25 score this does not grow with the question's length, so one threshold serves
        short and long questions. A passage matched only through generic words ("psoas",
        "back", "pain") scores 0.
        """
        have = self.index.term_set(passage)
        information = self.information(query)
        total = sum(information.values())
        matched = 0.0
        specific = False
        for term, alternatives in query.groups.items():
            # A lexicon synonym is weaker evidence than the question's own word.
            found = max((w for a, w in alternatives.items() if a in have), default=0.0)
            if found:
                matched += information[term] * found
                specific = specific or term not in self._generic
        if not specific or not total:
            return 0.0
        return matched / total

    def information(self, query: Query) -> dict[str, float]:
        """Weigh each question term by its IDF, or its best synonym's if the passages lack it.

        A word neither the passages nor the lexicon know counts as the rarest word.
        """
        index = self.index
        return {
            term: index.idf(term)
            or max((index.idf(a) for a in alternatives), default=0.0)
            or index.rarest_idf
            for term, alternatives in query.groups.items()
        }
