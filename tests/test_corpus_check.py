"""corpus_check.py: every problem in every file at once, with how many files were read."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import TINY_FILES, write_corpus

from psoasbot import CorpusError
from psoasbot.corpus import Problem, builtin_corpus_path
from psoasbot.corpus_check import CorpusReport, check_corpus

TYPO = "---\ntitel: Hello\nauthor:\n---\n\nText here.\n"
UNCLOSED = "---\ntitle: T\n\nThe body starts.\n"


def test_every_problem_in_every_file(tmp_path: Path) -> None:
    folder = write_corpus(
        tmp_path / "c",
        {
            "a.md": "Fine text.",
            "a.txt": "Same id.",
            "empty.md": "",
            "typo.md": TYPO,
            "sub/unclosed.md": UNCLOSED,
            "sub/latin1.txt": "Caf\xe9.\n".encode("latin-1"),
        },
    )
    assert check_corpus(folder) == CorpusReport(
        folder,
        6,
        1,
        (
            Problem(
                str(folder / "a.txt"),
                None,
                "error",
                f"document id 'a' is taken by {folder / 'a.md'}; rename one of the two",
            ),
            Problem(
                str(folder / "empty.md"),
                None,
                "warning",
                "the document is empty, so it is skipped; add text or remove the file",
            ),
            Problem(
                str(folder / "sub" / "latin1.txt"),
                1,
                "error",
                "not valid UTF-8 (byte 0xe9); save the file as UTF-8",
            ),
            Problem(
                str(folder / "sub" / "unclosed.md"),
                1,
                "error",
                "front matter has no closing '---'; add a line '---' after line 2, its last "
                "'key: value' line",
            ),
            Problem(
                str(folder / "typo.md"),
                2,
                "warning",
                "unknown front matter key 'titel' is ignored; did you mean 'title'?",
            ),
            Problem(
                str(folder / "typo.md"),
                3,
                "error",
                "front matter key 'author' is empty; give it a value or remove the line",
            ),
        ),
    )


def test_counts_errors_and_warnings(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", {"a.md": TYPO, "b.md": "", "c.md": "Text."})
    report = check_corpus(folder)
    assert (report.files, report.documents, report.errors, report.warnings) == (3, 1, 1, 2)


def test_a_clean_corpus_has_no_problems(tiny_corpus: Path) -> None:
    # The tiny corpus's `tags:` key is unknown: a warning, which the fixture is about.
    report = check_corpus(tiny_corpus)
    assert report.problems == (
        Problem(
            str(tiny_corpus / "accordion.md"),
            6,
            "warning",
            "unknown front matter key 'tags' is ignored; psoasbot reads only title, source, "
            "url, author",
        ),
    )
    clean: dict[str, str | bytes] = {
        **TINY_FILES,
        "accordion.md": TINY_FILES["accordion.md"].replace("tags", "#"),
    }
    assert check_corpus(write_corpus(tiny_corpus.parent / "clean", clean)) == CorpusReport(
        tiny_corpus.parent / "clean", 3, 3, ()
    )


def test_the_built_in_corpus_is_clean() -> None:
    assert check_corpus() == CorpusReport(builtin_corpus_path(), 5, 5, ())


def test_a_corpus_without_text_is_an_error(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", {"a.md": "", "b.md": "# Heading\n"})
    report = check_corpus(folder)
    assert report.problems[-1] == Problem(
        str(folder),
        None,
        "error",
        "no document has text to answer from; add articles with text in them",
    )
    assert (report.errors, report.warnings) == (1, 2)


def test_a_missing_folder_cannot_be_checked(tmp_path: Path) -> None:
    folder = tmp_path / "nope"
    message = f"corpus folder {folder} does not exist; pass a folder of .md or .txt files"
    with pytest.raises(CorpusError, match=f"^{re.escape(message)}$"):
        check_corpus(folder)
