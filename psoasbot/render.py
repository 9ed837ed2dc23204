"""Answer -> what a person reads: plain text for the terminal, JSON for scripts."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence

from psoasbot.models import Answer, Source

DEFAULT_WIDTH = 88

_BOLD, _DIM, _RED, _RESET = "\033[1m", "\033[2m", "\033[1;31m", "\033[0m"


def to_json(answer: Answer) -> str:
    """Render an answer as one line of JSON (the CLI's --json)."""
    return json.dumps(answer.to_dict(), ensure_ascii=False)


def to_text(answer: Answer, width: int = DEFAULT_WIDTH, color: bool = False) -> str:
    """Render an answer for a terminal: notice, numbered cited passages, disclaimer."""
    width = max(width, 40)

    def style(code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if color else text

    out: list[str] = []
    if answer.notice:
        code = _RED if answer.urgent else _BOLD
        out.append(style(code, _wrap(answer.notice, width)))
        out.append("")
    for hit in answer.passages:
        label = f"{hit.rank}. "
        out.append(style(_BOLD, _wrap(label + hit.citation, width, " " * len(label))))
        out.append(_wrap_block(hit.text, width, "   "))
        out.append("")
    out.append(style(_DIM, _wrap("Disclaimer: " + answer.disclaimer, width)))
    return "\n".join(out)


def sources_to_text(sources: Sequence[Source], width: int = DEFAULT_WIDTH) -> str:
    """List the articles of a corpus, one numbered entry each."""
    lines = []
    for n, src in enumerate(sources, 1):
        label = f"{n}. "
        lines.append(_wrap(label + src.title, width, " " * len(label)))
        by = f", by {src.author}" if src.author else ""
        plural = "" if src.passages == 1 else "s"
        lines.append(f"   {src.source}{by}: {src.passages} passage{plural}")
    return "\n".join(lines)


def _wrap(text: str, width: int, indent: str = "") -> str:
    return textwrap.fill(text, width, subsequent_indent=indent, break_on_hyphens=False)


def _wrap_block(text: str, width: int, indent: str) -> str:
    """Wrap a passage, keeping its paragraphs and list items on lines of their own."""
    lines: list[str] = []
    for line in text.split("\n"):
        if not line:
            lines.append("")
        elif line.startswith("- "):
            lines.append(
                textwrap.fill(
                    line,
                    width,
                    initial_indent=indent,
                    subsequent_indent=indent + "  ",
                    break_on_hyphens=False,
                )
            )
        else:
            lines.append(
                textwrap.fill(
                    line,
                    width,
                    initial_indent=indent,
                    subsequent_indent=indent,
                    break_on_hyphens=False,
                )
            )
    return "\n".join(lines)
