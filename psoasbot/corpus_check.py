"""Check a corpus folder: every problem in every file at once (`psoasbot corpus check`).

Loading a corpus stops at its first error; an author fixing a folder of articles wants
the whole list: errors (the corpus will not load) and warnings (a misspelt front matter
key, a file with no text, which is skipped).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from psoasbot.corpus import Problem, corpus_folder, document_files, inspect_files


@dataclass(frozen=True)
class CorpusReport:
    """What `check_corpus` found: how many files it read, and every problem in them."""

    folder: Path
    files: int
    documents: int
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> int:
        return sum(p.severity == "error" for p in self.problems)

    @property
    def warnings(self) -> int:
        return sum(p.severity == "warning" for p in self.problems)


def check_corpus(path: str | Path | None = None) -> CorpusReport:
    """Read every document of a folder (the built-in corpus for None); report all problems.

    Raises:
        CorpusError: the folder is missing or holds no documents: nothing to check.
    """
    folder = corpus_folder(path)
    files = document_files(folder)
    problems: list[Problem] = []
    documents = 0
    for doc, found in inspect_files(folder, files):
        problems.extend(found)
        documents += doc is not None
    if not documents and not any(p.severity == "error" for p in problems):
        message = "no document has text to answer from; add articles with text in them"
        problems.append(Problem(str(folder), None, "error", message))
    return CorpusReport(folder, len(files), documents, tuple(problems))
