"""corpus.py: front matter, sections, lists, .md and .txt, folders, and errors that say the fix."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from conftest import write_corpus

from psoasbot import CorpusError, CorpusWarning, Document, PsoasbotError
from psoasbot.corpus import (
    DocumentError,
    Problem,
    inspect_file,
    load_corpus,
    parse_document,
    read_document,
)
from psoasbot.models import Block, Section


def test_tiny_corpus_documents_in_file_name_order(tiny_corpus: Path) -> None:
    docs = load_corpus(tiny_corpus)
    assert docs == [
        Document(
            id="accordion",
            title="The Accordion Stretch",
            source="accordion-source.txt",
            sections=(
                Section(
                    heading="",
                    parents=(),
                    blocks=(
                        Block(
                            "paragraph",
                            "The accordion stretch opens the front of the hip in slow, even waves.",
                            9,
                        ),
                    ),
                ),
                Section(
                    heading="Getting Ready",
                    parents=(),
                    blocks=(
                        Block("paragraph", "Fold a blanket & kneel on it. You will need:", 13),
                        Block("list", "- a folded blanket\n- a quiet room\n- ten minutes", 15),
                    ),
                ),
                Section(
                    heading="Marigold Variation",
                    parents=("The Movement",),
                    blocks=(
                        Block(
                            "paragraph",
                            "Sway forward, then back, like bellows opening & closing. Keep the "
                            "knee < 90 degrees and the hips > the heels.",
                            23,
                        ),
                    ),
                ),
            ),
            path=tiny_corpus / "accordion.md",
            url="https://example.org/accordion",
            author="Ada Lovelace",
        ),
        Document(
            id="lantern",
            title="Lantern Breathing Basics",
            source="lantern-source.txt",
            sections=(
                Section(
                    heading="Lantern Breath",
                    parents=(),
                    blocks=(
                        Block(
                            "paragraph",
                            "Breathe in while you picture a lantern glowing low in the belly. "
                            "Breathe out slowly and let the glow fade.",
                            8,
                        ),
                    ),
                ),
                Section(
                    heading="Evening Routine",
                    parents=(),
                    blocks=(
                        Block(
                            "paragraph",
                            "Dim the lights each evening and repeat the lantern breath five "
                            "times before sleep.",
                            12,
                        ),
                    ),
                ),
            ),
            path=tiny_corpus / "lantern.md",
        ),
        Document(
            id="notes/pebble",
            title="Pebble Walking",
            source="pebble.txt",
            sections=(
                Section(
                    heading="",
                    parents=(),
                    blocks=(
                        Block(
                            "paragraph",
                            "Walking barefoot on smooth pebbles wakes up the feet and relaxes "
                            "the legs.",
                            3,
                        ),
                    ),
                ),
                Section(
                    heading="Why Pebbles Help",
                    parents=(),
                    blocks=(
                        Block(
                            "paragraph",
                            "Uneven pebbles make the small foot muscles work, which many walkers "
                            "find soothing.",
                            7,
                        ),
                    ),
                ),
            ),
            path=tiny_corpus / "notes" / "pebble.txt",
        ),
    ]


def test_load_corpus_accepts_a_string_path(tiny_corpus: Path) -> None:
    assert [d.id for d in load_corpus(str(tiny_corpus))] == [
        "accordion",
        "lantern",
        "notes/pebble",
    ]


@pytest.mark.parametrize(
    ("front_matter", "title", "source", "url", "author"),
    [
        ("title: T\nsource: s.txt\n", "T", "s.txt", None, None),
        (
            "title: T\nsource: s.txt\nurl: https://example.org/a\nauthor: Jane Doe\n",
            "T",
            "s.txt",
            "https://example.org/a",
            "Jane Doe",
        ),
        ("Title: T\nSOURCE: s.txt\n", "T", "s.txt", None, None),
        ("title: \"Quoted: T\"\nsource: 's.txt'\n", "Quoted: T", "s.txt", None, None),
        ("title: T\ntags: a, b\nlayout: post\nsource: s.txt\n", "T", "s.txt", None, None),
        ("# a comment line\ntitle: T\n\nsource: s.txt\n", "T", "s.txt", None, None),
        ("title: T\n", "T", "doc.md", None, None),
    ],
    ids=[
        "title-and-source",
        "url-and-author",
        "keys-any-case",
        "quoted-values",
        "unknown-keys-ignored",
        "comments-and-blank-lines",
        "source-defaults-to-file-name",
    ],
)
def test_front_matter(
    tmp_path: Path,
    front_matter: str,
    title: str,
    source: str,
    url: str | None,
    author: str | None,
) -> None:
    file = tmp_path / "doc.md"
    file.write_text(f"---\n{front_matter}---\n\nSome text.\n", encoding="utf-8")
    doc = read_document(file)
    assert (doc.id, doc.title, doc.source, doc.url, doc.author) == (
        "doc",
        title,
        source,
        url,
        author,
    )
    assert [(s.heading, [b.text for b in s.blocks]) for s in doc.sections] == [("", ["Some text."])]


def test_front_matter_block_line_numbers_count_the_front_matter(tmp_path: Path) -> None:
    file = tmp_path / "doc.md"
    file.write_text("---\ntitle: T\n---\n\nSome text.\n", encoding="utf-8")
    assert read_document(file).sections[0].blocks == (Block("paragraph", "Some text.", 5),)


def test_sections_with_parents_paragraphs_and_lists() -> None:
    text = """\
# Title

Intro line one
continues here.

## Part A

Text of A.

### A.1

Text of A.1:

- first item
  continued on the next line
* second item
1. third item

#### A.1.a

Deep text.

### A.2

Text of A.2.

## Part B

Text of B.
"""
    doc = parse_document(text, doc_id="d")
    assert doc.title == "Title"
    assert [(s.heading, s.parents) for s in doc.sections] == [
        ("", ()),
        ("Part A", ()),
        ("A.1", ("Part A",)),
        ("A.1.a", ("Part A", "A.1")),
        ("A.2", ("Part A",)),
        ("Part B", ()),
    ]
    assert doc.sections[0].blocks == (Block("paragraph", "Intro line one continues here.", 3),)
    assert doc.sections[2].blocks == (
        Block("paragraph", "Text of A.1:", 12),
        Block(
            "list",
            "- first item continued on the next line\n- second item\n- third item",
            14,
        ),
    )


def test_a_loose_list_is_one_list() -> None:
    doc = parse_document("# T\n\nSteps:\n\n- one\n\n- two\n\n\n* three\n\nAfter.\n", doc_id="d")
    assert doc.sections[0].blocks == (
        Block("paragraph", "Steps:", 3),
        Block("list", "- one\n- two\n- three", 5),
        Block("paragraph", "After.", 12),
    )


def test_a_heading_without_text_is_no_section() -> None:
    doc = parse_document("## Empty\n\n## Full\n\nText.\n", doc_id="d")
    # "Empty" is the title (the first heading); "Full" has the only text.
    assert doc.title == "Empty"
    assert doc.sections == (Section("Full", (), (Block("paragraph", "Text.", 5),)),)
    doc = parse_document("---\ntitle: T\n---\n## Empty\n### Inner\n\nText.\n", doc_id="d")
    assert doc.sections == (Section("Inner", ("Empty",), (Block("paragraph", "Text.", 7),)),)


def test_txt_short_standalone_lines_are_headings(tmp_path: Path) -> None:
    file = tmp_path / "article.txt"
    file.write_text(
        "Stretching Notes\n\n"
        "A first paragraph. It has two sentences.\n\n"
        "What Is the Psoas Muscle?\n\n"
        "A short line that ends with a full stop.\n\n"
        "The psoas does these things:\n\n"
        "  • It flexes the hip.\n"
        "  • It adducts the hip.\n\n"
        "# Hash marks are plain text in a .txt file.\n",
        encoding="utf-8",
    )
    doc = read_document(file)
    assert (doc.id, doc.title, doc.source) == ("article", "Stretching Notes", "article.txt")
    assert doc.sections == (
        Section("", (), (Block("paragraph", "A first paragraph. It has two sentences.", 3),)),
        Section(
            "What Is the Psoas Muscle?",
            (),
            (
                Block("paragraph", "A short line that ends with a full stop.", 7),
                Block("paragraph", "The psoas does these things:", 9),
                Block("list", "- It flexes the hip.\n- It adducts the hip.", 11),
                Block("paragraph", "# Hash marks are plain text in a .txt file.", 14),
            ),
        ),
    )


@pytest.mark.parametrize(
    ("text", "title", "first_block"),
    [
        ("# Heading Title\n\nBody text.\n", "Heading Title", "Body text."),
        ("Kneeling Notes\n\nBody text.\n", "Kneeling Notes", "Body text."),
        (
            "This first paragraph is a whole sentence, so it is not a title.\n",
            "This first paragraph is a whole sentence, so it is not a title.",
            "This first paragraph is a whole sentence, so it is not a title.",
        ),
        (
            "- a list item comes first\n- and another one\n",
            "a list item comes first",
            "- a list item comes first\n- and another one",
        ),
        (
            "word " * 40 + "end.\n",
            ("word " * 24).strip() + "…",
            "word " * 40 + "end.",
        ),
    ],
    ids=["first-heading", "short-first-line", "first-sentence", "first-list-item", "truncated"],
)
def test_title_falls_back_to_the_body(text: str, title: str, first_block: str) -> None:
    doc = parse_document(text, doc_id="d")
    assert doc.title == title
    assert doc.sections[0].blocks[0].text == first_block.strip()


def test_windows_line_endings_and_byte_order_mark(tmp_path: Path) -> None:
    unix = "---\ntitle: T\nsource: s\n---\n\n## Part\n\nText one.\n- item\n"
    (tmp_path / "unix.md").write_text(unix, encoding="utf-8")
    (tmp_path / "windows.md").write_bytes(b"\xef\xbb\xbf" + unix.replace("\n", "\r\n").encode())
    unix_doc, windows_doc = (
        read_document(tmp_path / "unix.md"),
        read_document(tmp_path / "windows.md"),
    )
    assert windows_doc.sections == unix_doc.sections
    assert (windows_doc.title, windows_doc.source) == ("T", "s")


def test_sub_folders_are_read_and_hidden_and_other_files_skipped(tmp_path: Path) -> None:
    folder = write_corpus(
        tmp_path / "c",
        {
            "b.md": "Text b.",
            "a/deep/c.txt": "Text c.",
            "A.MD": "Text upper.",
            ".draft.md": "Hidden file.",
            ".git/notes.md": "Hidden folder.",
            "sub/.cache/x.txt": "Hidden sub-folder.",
            "README.rst": "Not a document.",
            "image.png": b"\x89PNG\r\n\x1a\n\xff",
        },
    )
    (folder / "folder.md").mkdir()  # a folder named like a document is not one
    assert [d.id for d in load_corpus(folder)] == ["A", "a/deep/c", "b"]


def test_a_corpus_inside_a_hidden_folder_is_read(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / ".config" / "articles", {"a.md": "Text."})
    assert [d.id for d in load_corpus(folder)] == ["a"]


def test_errors_are_psoasbot_errors() -> None:
    assert issubclass(CorpusError, PsoasbotError)


def test_missing_folder(tmp_path: Path) -> None:
    folder = tmp_path / "nope"
    message = f"corpus folder {folder} does not exist; pass a folder of .md or .txt files"
    with pytest.raises(CorpusError, match=f"^{re.escape(message)}$"):
        load_corpus(folder)


def test_not_a_folder(tmp_path: Path) -> None:
    file = tmp_path / "a.md"
    file.write_text("Text.", encoding="utf-8")
    message = f"{file} is not a folder; pass a folder of .md or .txt files"
    with pytest.raises(CorpusError, match=f"^{re.escape(message)}$"):
        load_corpus(file)


def test_no_documents(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", {"notes.rst": "x", ".hidden.md": "x"})
    message = f"corpus folder {folder} holds no .md or .txt documents; add at least one"
    with pytest.raises(CorpusError, match=f"^{re.escape(message)}$"):
        load_corpus(folder)


def test_non_utf8_file_names_the_line(tmp_path: Path) -> None:
    folder = write_corpus(
        tmp_path / "c",
        {"good.md": "Text.", "latin1.md": "First line.\n\nCaf\xe9 line.\n".encode("latin-1")},
    )
    message = f"{folder / 'latin1.md'} line 3: not valid UTF-8 (byte 0xe9); save the file as UTF-8"
    with pytest.raises(CorpusError, match=f"^{re.escape(message)}$"):
        load_corpus(folder)


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads files whatever their mode"
)
def test_unreadable_file(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", {"locked.md": "Text."})
    file = folder / "locked.md"
    file.chmod(0)
    try:
        message = (
            f"{file}: cannot be read (Permission denied); check that it exists and is readable"
        )
        with pytest.raises(CorpusError, match=f"^{re.escape(message)}$"):
            load_corpus(folder)
    finally:
        file.chmod(0o644)


def test_unreadable_file_even_as_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_corpus(tmp_path / "c", {"locked.md": "Text."})

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    message = (
        f"{folder / 'locked.md'}: cannot be read (Permission denied); "
        "check that it exists and is readable"
    )
    with pytest.raises(CorpusError, match=f"^{re.escape(message)}$"):
        load_corpus(folder)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "\n---\ntitle: T\nsource: s.txt\n",
            "line 2: front matter has no closing '---'; "
            "add a line '---' after line 4, its last 'key: value' line",
        ),
        (
            "---\ntitle: T\nthis line has no colon\n---\nText.\n",
            "line 3: front matter line 'this line has no colon' is not 'key: value'; "
            "write it as 'key: value' or close the front matter with '---' above it",
        ),
        (
            "---\ntitle: T\n\nThe body starts without a closing line.\n",
            "line 1: front matter has no closing '---'; "
            "add a line '---' after line 2, its last 'key: value' line",
        ),
        (
            "---\nSome text, and no front matter meant.\n",
            "line 1: front matter has no closing '---'; close it with a line '---', or remove "
            "this one if the document has none",
        ),
        (
            "---\ntitle:\nsource: s.txt\n---\nText.\n",
            "line 2: front matter key 'title' is empty; give it a value or remove the line",
        ),
    ],
    ids=[
        "front-matter-not-closed",
        "bad-front-matter-line",
        "body-inside-front-matter",
        "a-lone-opening-line",
        "empty-front-matter-value",
    ],
)
def test_bad_document_names_file_line_and_fix(tmp_path: Path, text: str, problem: str) -> None:
    folder = write_corpus(tmp_path / "c", {"a.md": "Fine.", "bad.md": text})
    message = f"{folder / 'bad.md'} {problem}"
    with pytest.raises(DocumentError, match=f"^{re.escape(message)}$") as raised:
        load_corpus(folder)
    line = int(problem.split(":")[0].removeprefix("line "))
    assert raised.value.problem == Problem(
        str(folder / "bad.md"), line, "error", problem.split(": ", 1)[1]
    )


EMPTY = "the document is empty, so it is skipped; add text or remove the file"
NO_TEXT = "the document has no text under its title, so it is skipped; add text or remove the file"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", EMPTY),
        ("  \n\n\t\n", EMPTY),
        ("---\ntitle: T\nsource: s.txt\n---\n\n", NO_TEXT),
        ("# Just a Title\n\n## And a Heading\n", NO_TEXT),
    ],
    ids=["empty", "blank", "only-front-matter", "only-headings"],
)
def test_a_document_without_text_is_skipped_with_a_warning(
    tmp_path: Path, text: str, problem: str
) -> None:
    folder = write_corpus(tmp_path / "c", {"a.md": "Fine.", "bad.md": text, "c.md": "Also."})
    message = f"{folder / 'bad.md'}: {problem}"
    with pytest.warns(CorpusWarning, match=f"^{re.escape(message)}$") as caught:
        docs = load_corpus(folder)
    assert [d.id for d in docs] == ["a", "c"]
    assert len(caught) == 1
    # Asked for by itself, it is an error: there is no document to give.
    with pytest.raises(DocumentError, match=f"^{re.escape(message)}$"):
        read_document(folder / "bad.md")


def test_a_corpus_of_empty_files_has_no_documents(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", {"a.md": "", "b.md": "\n"})
    with pytest.warns(CorpusWarning) as caught:
        assert load_corpus(folder) == []
    assert [str(w.message) for w in caught] == [
        f"{folder / 'a.md'}: {EMPTY}",
        f"{folder / 'b.md'}: {EMPTY}",
    ]


def test_every_problem_of_a_file_is_noted(tmp_path: Path) -> None:
    file = tmp_path / "bad.md"
    file.write_text(
        "---\ntitel: T\nsource:\nnot a key line\nauthor: Ann\n---\n\nText.\n", encoding="utf-8"
    )
    doc, problems = inspect_file(file)
    assert doc is None
    assert problems == [
        Problem(
            str(file),
            2,
            "warning",
            "unknown front matter key 'titel' is ignored; did you mean 'title'?",
        ),
        Problem(
            str(file),
            3,
            "error",
            "front matter key 'source' is empty; give it a value or remove the line",
        ),
        Problem(
            str(file),
            4,
            "error",
            "front matter line 'not a key line' is not 'key: value'; write it as 'key: value' "
            "or close the front matter with '---' above it",
        ),
    ]
    assert str(problems[0]) == (
        f"{file} line 2: unknown front matter key 'titel' is ignored; did you mean 'title'?"
    )


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("titel", "did you mean 'title'?"),
        ("Tittle", "did you mean 'title'?"),
        ("autor", "did you mean 'author'?"),
        ("sorce", "did you mean 'source'?"),
        ("urls", "did you mean 'url'?"),
        ("tags", "psoasbot reads only title, source, url, author"),
    ],
)
def test_an_unknown_key_is_a_warning_with_a_did_you_mean(
    tmp_path: Path, key: str, hint: str
) -> None:
    file = tmp_path / "doc.md"
    file.write_text(f"---\n{key}: x\n---\n\nFirst line of text.\n", encoding="utf-8")
    doc, problems = inspect_file(file)
    assert doc is not None and doc.title == "First line of text."  # the key is ignored
    message = f"unknown front matter key {key.lower()!r} is ignored; {hint}"
    assert problems == [Problem(str(file), 2, "warning", message)]


def test_two_documents_with_the_same_id(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", {"a.md": "Text a.", "a.txt": "Text a again."})
    message = (
        f"{folder / 'a.txt'}: document id 'a' is taken by {folder / 'a.md'}; rename one of the two"
    )
    with pytest.raises(DocumentError, match=f"^{re.escape(message)}$"):
        load_corpus(folder)
