"""Read documents (front matter, sections, paragraphs, lists) from a folder of .md/.txt files.

A document is Markdown: optional front matter between two `---` lines (`title`, `source`,
`url`, `author`), `#` headings, paragraphs separated by blank lines and `- ` bullet lists.
A `.txt` file is read the same way, except that a short line standing alone (no final
full stop) counts as a heading, as in articles copied from a web page.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from psoasbot.errors import CorpusError
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
    """Yield the documents of a folder one at a time, in file-name order, ids unique."""
    folder = builtin_corpus_path() if path is None else Path(path)
    files = document_files(folder)
    seen: dict[str, Path] = {}
    for file in files:
        doc_id = file.relative_to(folder).with_suffix("").as_posix()
        if doc_id in seen:
            raise CorpusError(
                f"{seen[doc_id]} and {file} both have the document id {doc_id!r}; "
                "rename one of them"
            )
        seen[doc_id] = file
        yield read_document(file, doc_id=doc_id)


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
    """Read and parse one document file."""
    try:
        raw = file.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise CorpusError(
            f"{shown_path(file)}: cannot be read ({reason}); check that it exists and is readable"
        ) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CorpusError(
            f"{file} line {line}: not valid UTF-8 (byte 0x{raw[exc.start]:02x}); "
            "save the file as UTF-8"
        ) from exc
    return parse_document(
        text,
        doc_id=doc_id or file.stem,
        name=str(file),
        plain_text=file.suffix.lower() == ".txt",
        path=file,
    )


def parse_document(
    text: str,
    doc_id: str,
    name: str | None = None,
    plain_text: bool = False,
    path: Path | None = None,
) -> Document:
    """Parse a document's text; `name` is how errors refer to it (a file path)."""
    where = name or doc_id
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    meta, body_start = _front_matter(lines, where)
    blocks = _blocks(lines, body_start, plain_text)
    title = meta.get("title")
    if title is None:
        title, blocks = _title_from_body(blocks, doc_id)
    sections = _sections(blocks)
    if not sections:
        raise CorpusError(
            f"{where}: the document has no text under its title; add text or remove the file"
        )
    return Document(
        id=doc_id,
        title=title,
        source=meta.get("source") or (path.name if path else doc_id),
        sections=tuple(sections),
        path=path,
        url=meta.get("url"),
        author=meta.get("author"),
    )


def _front_matter(lines: list[str], where: str) -> tuple[dict[str, str], int]:
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise CorpusError(f"{where}: the document is empty; add text or remove the file")
    if lines[first].strip() != "---":
        return {}, 0
    meta: dict[str, str] = {}
    for i in range(first + 1, len(lines)):
        line = lines[i].strip()
        if line == "---":
            return meta, i + 1
        if not line or line.startswith("#"):
            continue
        match = _FRONT_MATTER_LINE.match(line)
        if match is None:
            raise CorpusError(
                f"{where} line {i + 1}: front matter line {line[:60]!r} is not 'key: value'; "
                "write it as 'key: value' or close the front matter with '---' above it"
            )
        key, value = match.group(1).lower(), _unquote(match.group(2).strip())
        if key in FRONT_MATTER_KEYS:
            if not value:
                raise CorpusError(
                    f"{where} line {i + 1}: front matter key {key!r} is empty; "
                    "give it a value or remove the line"
                )
            meta[key] = value
    raise CorpusError(
        f"{where} line {first + 1}: front matter has no closing '---'; "
        "add a line '---' after the last 'key: value' line"
    )


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
