"""Answer and sources -> what a terminal shows, and the JSON scripts read.

Telegram's HTML messages are made in telegram_html.py.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

from psoasbot.models import Answer, Source

if TYPE_CHECKING:
    from psoasbot.corpus_check import CorpusReport

DEFAULT_WIDTH = 88

_BOLD, _DIM, _RED, _RESET = "\033[1m", "\033[2m", "\033[1;31m", "\033[0m"
# Control characters but newline and tab: ESC (and the C1 CSI, 0x9b) would start a terminal
# escape sequence, which a corpus file could use to rewrite the screen or the title bar.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_C1 = re.compile(r"[\x7f-\x9f]")


def plural(count: int, noun: str) -> str:
    """Return "1 passage", "2 passages": the count and the noun, plural unless one."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def to_json(answer: Answer) -> str:
    """Render an answer as one line of JSON (the CLI's --json)."""
    return _escape_c1(json.dumps(answer.to_dict(), ensure_ascii=False))


def sources_to_json(sources: Sequence[Source]) -> str:
    """Render the articles of a corpus as an indented JSON list (`psoasbot sources --json`)."""
    return _escape_c1(json.dumps([s.to_dict() for s in sources], ensure_ascii=False, indent=2))


def _escape_c1(text: str) -> str:
    # json.dumps escapes C0 control characters, but with ensure_ascii=False not DEL and C1
    # (0x9b is CSI to many terminals); the escaped form is the same JSON string.
    return _C1.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _clean(text: str) -> str:
    """Replace control characters (but newline and tab) with U+FFFD, for a terminal."""
    return _CONTROL.sub("\ufffd", text)


def to_text(
    answer: Answer, width: int = DEFAULT_WIDTH, color: bool = False, show_question: bool = False
) -> str:
    """Render an answer for a terminal: notice, numbered cited passages, disclaimer.

    With `show_question`, a first line `Question: ...` says what it answers (for answers
    printed one after another).
    """
    width = max(width, 40)

    def style(code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if color else text

    out: list[str] = []
    if show_question:
        label = "Question: "
        out.append(style(_BOLD, _wrap(label + answer.question, width, " " * len(label))))
        out.append("")
    if answer.notice:
        code = _RED if answer.urgent else _BOLD
        paragraphs = _clean(answer.notice).split("\n\n")
        out.append("\n\n".join(style(code, _wrap(p, width)) for p in paragraphs))
        out.append("")
    for hit in answer.passages:
        label = f"{hit.rank}. "
        out.append(style(_BOLD, _wrap(label + _clean(hit.citation), width, " " * len(label))))
        out.append(_wrap_block(_clean(hit.text), width, "   "))
        out.append("")
    out.append(style(_DIM, _wrap("Disclaimer: " + _clean(answer.disclaimer), width)))
    return "\n".join(out)


def sources_to_text(sources: Sequence[Source], width: int = DEFAULT_WIDTH) -> str:
    """List the articles of a corpus, one numbered entry each."""
    lines = []
    for n, src in enumerate(sources, 1):
        label = f"{n}. "
        lines.append(_wrap(label + _clean(src.title), width, " " * len(label)))
        by = f", by {_clean(src.author)}" if src.author else ""
        lines.append(f"   {_clean(src.source)}{by}: {plural(src.passages, 'passage')}")
    return "\n".join(lines)


def corpus_report_to_text(report: CorpusReport) -> str:
    """List a corpus check's problems, one a line (`file:line: severity: message`), then a
    summary; problems are not wrapped, so that editors and grep can read them."""
    lines = []
    for p in report.problems:
        where = p.file if p.line is None else f"{p.file}:{p.line}"
        lines.append(_clean(f"{where}: {p.severity}: {p.message}"))
    checked = _clean(f"{report.folder}: {plural(report.files, 'file')}")
    if not report.problems:
        return f"{checked}, no problems"
    found = [
        plural(n, kind) for n, kind in ((report.errors, "error"), (report.warnings, "warning")) if n
    ]
    verdict = (
        "the corpus will not load until the errors are fixed"
        if report.errors
        else "the corpus loads, but maybe not as meant"
    )
    return "\n".join([*lines, "", f"{checked}, {' and '.join(found)}: {verdict}"])


def _wrap(text: str, width: int, indent: str = "") -> str:
    return textwrap.fill(text, width, subsequent_indent=indent, break_on_hyphens=False)


def _wrap_block(text: str, width: int, indent: str) -> str:
    """Wrap a passage, keeping its paragraphs and list items on lines of their own."""
    lines: list[str] = []
    for line in text.split("\n"):
        hang = "  " if line.startswith("- ") else ""  # a list item's lines under its text
        lines.append(
            textwrap.fill(
                line,
                width,
                initial_indent=indent,
                subsequent_indent=indent + hang,
                break_on_hyphens=False,
            )
            if line
            else ""
        )
    return "\n".join(lines)
