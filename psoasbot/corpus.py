"""Read documents (front matter, sections, paragraphs, lists) from a folder of .md/.txt files.

A document is Markdown: optional front matter between two `---` lines (`title`, `source`,
`url`, `author`), `#` headings, paragraphs separated by blank lines and `- ` bullet lists.
A `.txt` file is read the same way, except that a short line standing alone (no final
full stop) counts as a heading, as in articles copied from a web page.

Reading a file notes every `Problem` in it, not just the first. Loading a corpus stops at
the first error and skips, with a `CorpusWarning`, a file with no text to quote; checking
one (corpus_check.py, `psoasbot corpus check`) lists them all.
"""

from __future__ import annotations

import difflib
import errno
import os
import re
import stat
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from psoasbot.errors import CorpusError, CorpusWarning
from psoasbot.models import Block, Document, Section

SUFFIXES = (".md", ".txt")
FRONT_MATTER_KEYS = ("title", "source", "url", "author")

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*(?:[-*+•·▪]|\d{1,3}[.)])\s+(.*)$")
_FRONT_MATTER_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)\s*:\s?(.*)$")
# A plain-text line this short, with no final punctuation but '?', reads as a heading.
_TXT_HEADING_MAX_WORDS = 12
_TITLE_MAX_CHARS = 120
# C0 and C1 control characters (ESC starts a terminal escape sequence) and DEL.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SHOWN_PATH_CHARS = 200

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """Something wrong in a corpus file, where it is and how to fix it.

    An error stops the corpus from loading. A warning does not: the file is read, or
    skipped if it has no text, but probably not as its author meant.
    """

    file: str
    line: int | None
    severity: Severity
    message: str

    def __str__(self) -> str:
        file = shown_path(self.file)
        where = file if self.line is None else f"{file} line {self.line}"
        return f"{where}: {self.message}"


class DocumentError(CorpusError):
    """A document of a corpus folder stops it from loading; `problem` says where and why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def builtin_corpus_path() -> Path:
    """Return the folder of the built-in articles, in a wheel or in a source checkout."""
    package = Path(__file__).resolve().parent
    installed = package / "_corpus"
    if installed.is_dir():
        return installed
    return package.parent / "corpus"


def load_corpus(path: str | Path | None = None) -> list[Document]:
    """Read every document of a folder (the built-in corpus when `path` is None).

    Raises:
        CorpusError: the folder is missing or empty, or a document cannot be read; the
            message names the file (and line) and says how to fix it.
    """
    return list(iter_documents(path))


def iter_documents(path: str | Path | None = None) -> Iterator[Document]:
    """Yield the documents of a folder one at a time, in file-name order, ids unique.

    A file with no text to quote (empty, or only front matter or headings) is skipped
    with a `CorpusWarning`: it would add nothing to any answer.

    Raises:
        CorpusError: the folder is missing or holds no documents.
        DocumentError: a document cannot be read or parsed (its first error).
    """
    folder = corpus_folder(path)
    yield from read_documents(folder, document_files(folder))


def read_documents(folder: Path, files: list[Path]) -> Iterator[Document]:
    """Yield the documents of these files of a corpus folder, as `iter_documents` does."""
    for doc, problems in inspect_files(folder, files):
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            raise DocumentError(errors[0])
        if doc is None:
            warnings.warn(str(problems[-1]), CorpusWarning, stacklevel=2)
            continue
        yield doc


def corpus_folder(path: str | Path | None) -> Path:
    """Return the folder a corpus path names: the built-in corpus for None."""
    return builtin_corpus_path() if path is None else Path(path)


def inspect_files(
    folder: Path, files: list[Path]
) -> Iterator[tuple[Document | None, list[Problem]]]:
    """Read each file of a corpus folder: its document (None if it has none) and problems.

    Two files with the same document id (`a.md` and `a.txt`) are an error of the second.
    """
    seen: dict[str, Path] = {}
    for file in files:
        doc_id = file.relative_to(folder).with_suffix("").as_posix()
        if doc_id in seen:
            message = f"document id {doc_id!r} is taken by {seen[doc_id]}; rename one of the two"
            yield None, [Problem(str(file), None, "error", message)]
            continue
        seen[doc_id] = file
        yield inspect_file(file, doc_id)


def document_files(folder: Path) -> list[Path]:
    """List a corpus folder's .md and .txt files (hidden ones skipped), sorted.

    Sub-folders are read too, except hidden ones and links to folders (a link may loop).

    Raises:
        CorpusError: the folder is missing, not a folder, a link loop, a path too long, or
            it or one of its sub-folders cannot be read; or it holds no documents.
    """
    try:
        if not stat.S_ISDIR(os.stat(folder).st_mode):
            raise CorpusError(
                f"{shown_path(folder)} is not a folder; pass a folder of .md or .txt files"
            )
    except OSError as exc:
        raise _path_error(folder, exc) from None
    files: list[Path] = []
    _walk(folder, folder, files)
    if not files:
        raise CorpusError(
            f"corpus folder {shown_path(folder)} holds no .md or .txt documents; add at least one"
        )
    return sorted(files)


def _walk(root: Path, folder: Path, files: list[Path]) -> None:
    """Add the documents under `folder` to `files`; a folder that cannot be read is an error."""
    try:
        with os.scandir(folder) as entries:
            found = list(entries)
    except OSError as exc:
        raise _path_error(folder, exc, None if folder == root else root) from None
    for entry in found:
        if entry.name.startswith("."):
            continue
        path = folder / entry.name
        try:
            if entry.is_dir(follow_symlinks=False):
                _walk(root, path, files)
            elif path.suffix.lower() in SUFFIXES and entry.is_file():
                files.append(path)
        except OSError as exc:
            raise _path_error(path, exc, root) from None


def _path_error(path: Path, exc: OSError, root: Path | None = None) -> CorpusError:
    """Say what is wrong with a corpus path, naming it (and how to fix it)."""
    where = f"corpus folder {shown_path(path)}" if root is None else shown_path(path)
    if exc.errno == errno.ENOENT and root is None:
        return CorpusError(f"{where} does not exist; pass a folder of .md or .txt files")
    if exc.errno == errno.ELOOP:
        return CorpusError(f"{where} is a loop of symbolic links; pass the folder itself")
    if exc.errno == errno.ENAMETOOLONG:
        return CorpusError(
            f"{where} is too long a path ({len(str(path)):,} characters); "
            "pass a shorter path to the folder"
        )
    reason = exc.strerror or str(exc)
    if root is None:
        return CorpusError(
            f"{where} cannot be read ({reason}); check that it exists and is readable"
        )
    return CorpusError(
        f"{where}: a sub-folder of the corpus that cannot be read ({reason}); make it "
        "readable, or move it out of the corpus folder"
    )


def shown_path(path: str | Path) -> str:
    """Return a path as an error message shows it: control characters escaped, not too long.

    A file name may hold any byte but "/" and NUL: an escape sequence in one must not
    reach the terminal that prints the error.
    """
    text = str(path)
    if len(text) > _SHOWN_PATH_CHARS:
        text = text[: _SHOWN_PATH_CHARS - 1] + "…"
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def resolve_folder(path: str | Path) -> Path:
    """Return a corpus folder's absolute path, links resolved.

    Raises:
        CorpusError: the path is empty, a loop of symbolic links or too long.
    """
    if not str(path).strip():
        raise CorpusError(
            "the corpus folder path is empty; pass a folder of .md or .txt files, or none "
            "for the built-in articles"
        )
    try:
        return Path(path).resolve()
    except RuntimeError:  # Python before 3.13 says "Symlink loop" so
        raise _path_error(Path(path), OSError(errno.ELOOP, "symlink loop")) from None
    except OSError as exc:
        raise _path_error(Path(path), exc) from None


def read_document(file: Path, doc_id: str | None = None) -> Document:
    """Read and parse one document file.

    Raises:
        DocumentError: the file cannot be read, has an error or has no text.
    """
    return _document_or_raise(*inspect_file(file, doc_id))


def inspect_file(file: Path, doc_id: str | None = None) -> tuple[Document | None, list[Problem]]:
    """Read and parse one document file: the document (None if it has none) and problems."""
    try:
        raw = file.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        message = f"cannot be read ({reason}); check that it exists and is readable"
        return None, [Problem(str(file), None, "error", message)]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        message = f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"
        return None, [Problem(str(file), line, "error", message)]
    return _parse(text, doc_id or file.stem, str(file), file.suffix.lower() == ".txt", file)


def parse_document(
    text: str,
    doc_id: str,
    name: str | None = None,
    plain_text: bool = False,
    path: Path | None = None,
) -> Document:
    """Parse a document's text; `name` is how errors refer to it (a file path).

    Raises:
        DocumentError: the text has an error or no text to quote.
    """
    return _document_or_raise(*_parse(text, doc_id, name or doc_id, plain_text, path))


def _document_or_raise(doc: Document | None, problems: list[Problem]) -> Document:
    for problem in problems:
        if problem.severity == "error":
            raise DocumentError(problem)
    if doc is None:  # no text: its warning says so
        raise DocumentError(problems[-1])
    return doc


def _parse(
    text: str, doc_id: str, where: str, plain_text: bool, path: Path | None
) -> tuple[Document | None, list[Problem]]:
    """Parse a document's text, noting every problem; the document is None on an error."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    problems: list[Problem] = []
    if not any(line.strip() for line in lines):
        message = "the document is empty, so it is skipped; add text or remove the file"
        return None, [Problem(where, None, "warning", message)]
    meta, body_start = _front_matter(lines, where, problems)
    if body_start is None:  # never closed: where the body starts is anybody's guess
        return None, problems
    blocks = _blocks(lines, body_start, plain_text)
    title = meta.get("title")
    if title is None:
        title, blocks = _title_from_body(blocks, doc_id)
    sections = _sections(blocks)
    if not sections:
        message = (
            "the document has no text under its title, so it is skipped; add text or "
            "remove the file"
        )
        problems.append(Problem(where, None, "warning", message))
    if not sections or any(p.severity == "error" for p in problems):
        return None, problems
    doc = Document(
        id=doc_id,
        title=title,
        source=meta.get("source") or (path.name if path else doc_id),
        sections=tuple(sections),
        path=path,
        url=meta.get("url"),
        author=meta.get("author"),
    )
    return doc, problems


def _front_matter(
    lines: list[str], where: str, problems: list[Problem]
) -> tuple[dict[str, str], int | None]:
    """Read the front matter: its keys and the index of the body's first line.

    The body's start is None when the front matter is never closed.
    """
    first = next(i for i, line in enumerate(lines) if line.strip())
    if lines[first].strip() != "---":
        return {}, 0
    close = next((i for i in range(first + 1, len(lines)) if lines[i].strip() == "---"), None)
    meta: dict[str, str] = {}
    last_key = None  # the line of the last 'key: value'
    for i in range(first + 1, len(lines) if close is None else close):
        line = lines[i].strip()
        if not line or line.startswith("#"):
            continue
        match = _FRONT_MATTER_LINE.match(line)
        if match is None:
            if close is None:
                break  # the body, under a front matter never closed
            message = (
                f"front matter line {line[:60]!r} is not 'key: value'; write it as "
                "'key: value' or close the front matter with '---' above it"
            )
            problems.append(Problem(where, i + 1, "error", message))
            continue
        last_key = i
        key, value = match.group(1).lower(), _unquote(match.group(2).strip())
        if key not in FRONT_MATTER_KEYS:
            problems.append(Problem(where, i + 1, "warning", _unknown_key(key)))
        elif not value:
            message = f"front matter key {key!r} is empty; give it a value or remove the line"
            problems.append(Problem(where, i + 1, "error", message))
        else:
            meta[key] = value
    if close is None:
        # Reported where it opens: the line that is read as the end is only a guess.
        fix = (
            f"add a line '---' after line {last_key + 1}, its last 'key: value' line"
            if last_key is not None
            else "close it with a line '---', or remove this one if the document has none"
        )
        problems.append(
            Problem(where, first + 1, "error", f"front matter has no closing '---'; {fix}")
        )
        return meta, None
    return meta, close + 1


def _unknown_key(key: str) -> str:
    known = ", ".join(FRONT_MATTER_KEYS)
    close = difflib.get_close_matches(key, FRONT_MATTER_KEYS, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else f"psoasbot reads only {known}"
    return f"unknown front matter key {key!r} is ignored; {hint}"


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


# A block before sectioning: ("heading", level, text, line) or ("paragraph"/"list", 0,
# text, line).
_RawBlock = tuple[Literal["heading", "paragraph", "list"], int, str, int]


def _blocks(lines: list[str], start: int, plain_text: bool) -> list[_RawBlock]:
    blocks: list[_RawBlock] = []
    para: list[str] = []
    para_line = 0
    items: list[str] = []
    list_line = 0

    def flush() -> None:
        nonlocal para, items
        if para:
            text = " ".join(para)
            if plain_text and len(para) == 1 and _looks_like_heading(text):
                blocks.append(("heading", 2, text, para_line))
            else:
                blocks.append(("paragraph", 0, text, para_line))
            para = []
        if items:
            blocks.append(("list", 0, "\n".join(f"- {item}" for item in items), list_line))
            items = []

    for number, line in enumerate(lines[start:], start=start + 1):
        stripped = line.strip()
        if not stripped:
            if not items:  # blank lines between items do not end a list (a "loose" list)
                flush()
            continue
        heading = None if plain_text else _HEADING.match(stripped)
        if heading:
            flush()
            blocks.append(("heading", len(heading.group(1)), heading.group(2), number))
            continue
        bullet = _BULLET.match(line)
        if bullet and bullet.group(1).strip():
            if para:
                flush()
            if not items:
                list_line = number
            items.append(" ".join(bullet.group(1).split()))
            continue
        if items and line[:1].isspace():
            items[-1] += " " + stripped  # an indented continuation of the last item
            continue
        if items:
            flush()
        if not para:
            para_line = number
        para.append(stripped)
    flush()
    return blocks


def _looks_like_heading(text: str) -> bool:
    words = text.split()
    return 0 < len(words) <= _TXT_HEADING_MAX_WORDS and text[-1] not in ".!:;,…\"”'’)"


def _title_from_body(blocks: list[_RawBlock], doc_id: str) -> tuple[str, list[_RawBlock]]:
    """Take the first heading, or a short first line, as the title; else name it by id."""
    if not blocks:
        return doc_id, blocks
    kind, _level, text, _line = blocks[0]
    if kind == "heading" or (kind == "paragraph" and _looks_like_heading(text)):
        return text, blocks[1:]
    first_line = text.split("\n", 1)[0].lstrip("- ")
    if len(first_line) > _TITLE_MAX_CHARS:
        first_line = first_line[: _TITLE_MAX_CHARS - 1].rstrip() + "…"
    return first_line, blocks


def _sections(blocks: list[_RawBlock]) -> list[Section]:
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []  # (level, heading) of the open headings
    current: list[Block] = []

    def close() -> None:
        if current:
            heading = stack[-1][1] if stack else ""
            parents = tuple(h for _, h in stack[:-1])
            sections.append(Section(heading=heading, parents=parents, blocks=tuple(current)))

    for kind, level, text, line in blocks:
        if kind == "heading":
            close()
            current = []
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, text))
        else:
            current.append(Block(kind=kind, text=text, line=line))
    close()
    return sections
