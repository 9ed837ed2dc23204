"""Answer -> what a person reads: plain text for the terminal, JSON for scripts, Telegram HTML."""

from __future__ import annotations

import html
import json
import re
import textwrap
from collections.abc import Iterable, Sequence

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
        paragraphs = answer.notice.split("\n\n")
        out.append("\n\n".join(style(code, _wrap(p, width)) for p in paragraphs))
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


# --- Telegram -------------------------------------------------------------------------------

TELEGRAM_MAX_CHARS = 4096

# Messages are built from blocks (the notice, one passage, ...) separated by a blank line;
# a block's lines are separated by "\n" and no tag ever spans a line break. So a message
# can be cut between any two lines without cutting a tag, and a line between any two
# atoms: a tag, an entity such as "&amp;", or one character.
_BLOCK_SEPARATOR = "\n\n"
_ATOM = re.compile(r"<[^<>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);|.", re.DOTALL)
_TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)")
_SENTENCE_END = frozenset(".!?…:;")
# Below this a message could not hold a useful piece of a passage next to its footer.
_MIN_BUDGET = 32


def telegram_length(text: str) -> int:
    """Count a message the strictest way Telegram could: UTF-16 code units of the raw HTML.

    Telegram's limit applies to the text after parsing the HTML, so the raw length is
    never smaller; an emoji counts as two.
    """
    return len(text.encode("utf-16-le")) // 2


def telegram_disclaimer(disclaimer: str) -> str:
    """Return the disclaimer as the italic line that ends every Telegram answer message."""
    return _styled("i", "Disclaimer: " + disclaimer)


def to_telegram_html(answer: Answer, max_chars: int = TELEGRAM_MAX_CHARS) -> list[str]:
    """Render an answer as Telegram HTML messages: notice, numbered cited passages, disclaimer.

    The notice (urgent or not) comes first, in bold, before any passage; each passage is
    its number and citation in bold, then its text. Messages split between passages and
    are at most `max_chars` long; a passage longer than a message splits between lines,
    then sentences, then words. Every message ends with the disclaimer in italics.
    """
    blocks = []
    if answer.notice:
        # One block per paragraph: an urgent notice, then any other (the long question).
        for n, paragraph in enumerate(answer.notice.split("\n\n")):
            warning = "⚠️ " if answer.urgent and n == 0 else ""
            blocks.append(_styled("b", warning + paragraph))
    for hit in answer.passages:
        heading = _styled("b", f"{hit.rank}. {hit.citation}")
        blocks.append(_join_lines([heading, _plain(hit.text)]))
    return pack_telegram_html(blocks, telegram_disclaimer(answer.disclaimer), max_chars)


def sources_to_telegram_html(
    sources: Sequence[Source], max_chars: int = TELEGRAM_MAX_CHARS
) -> list[str]:
    """List the articles of a corpus as Telegram HTML: a numbered entry each."""
    plural = "" if len(sources) == 1 else "s"
    blocks = [_styled("b", f"My answers quote these {len(sources)} article{plural}:")]
    for n, src in enumerate(sources, 1):
        by = f", by {src.author}" if src.author else ""
        count = f"{src.passages} passage{'' if src.passages == 1 else 's'}"
        lines = [f"{n}. " + _styled("b", src.title), _escape(f"{src.source}{by}: {count}")]
        if src.url:
            lines.append(_escape(src.url))
        blocks.append(_join_lines(lines))
    return pack_telegram_html(blocks, "", max_chars)


def pack_telegram_html(
    blocks: Sequence[str], footer: str = "", max_chars: int = TELEGRAM_MAX_CHARS
) -> list[str]:
    """Pack blocks of Telegram HTML into as few messages as fit, each ending with `footer`.

    Blocks are joined by a blank line and never split while a whole block fits in a
    message; a longer block splits between lines, a longer line between sentences, then
    words, then characters, closing and reopening any tag around each cut.

    Raises:
        ValueError: `max_chars` leaves too little room next to the footer.
    """
    tail = _BLOCK_SEPARATOR + footer if footer else ""
    budget = max_chars - telegram_length(tail)
    if budget < _MIN_BUDGET:
        raise ValueError(f"max_chars of {max_chars} leaves no room next to the footer")
    messages: list[str] = []
    current = ""

    def flush() -> None:
        nonlocal current
        if current:
            messages.append(current)
            current = ""

    for block in blocks:
        if not block:
            continue
        joined = current + _BLOCK_SEPARATOR + block if current else block
        if telegram_length(joined) <= budget:
            current = joined
            continue
        flush()
        if telegram_length(block) <= budget:
            current = block
            continue
        *whole, current = _split_block(block, budget)
        messages.extend(whole)
    flush()
    if not messages:
        return [footer] if footer else []
    return [message + tail for message in messages]


def resplit_telegram_html(message: str, footer: str, max_chars: int) -> list[str]:
    """Split a message made by `pack_telegram_html` with `footer` again, to fit `max_chars`.

    For when Telegram rejects a message as too long after all: the blocks are packed
    anew, and every new message still ends with the footer.
    """
    tail = _BLOCK_SEPARATOR + footer if footer else ""
    body = message[: -len(tail)] if tail and message.endswith(tail) else message
    if footer and body == footer:
        body = ""
    return pack_telegram_html(body.split(_BLOCK_SEPARATOR), footer, max_chars)


def _split_block(block: str, budget: int) -> list[str]:
    """Split a block that is longer than `budget` between lines, and cut longer lines."""
    pieces: list[str] = []
    current = ""
    for line in block.split("\n"):
        joined = current + "\n" + line if current else line
        if telegram_length(joined) <= budget:
            current = joined
            continue
        if telegram_length(line) <= budget:
            # A whole line (a paragraph, a list item) moves on rather than being cut.
            pieces.append(current)
            current = line
            continue
        room = budget - telegram_length(current) - 1 if current else budget
        if room < budget // 4:
            pieces.append(current)
            current, room = "", budget
        first, *rest = _split_line(line, budget, room)
        current = current + "\n" + first if current else first
        for piece in rest:
            pieces.append(current)
            current = piece
    if current:
        pieces.append(current)
    return pieces


def _split_line(line: str, budget: int, first_budget: int) -> list[str]:
    """Cut one line of HTML into pieces of at most `budget` (the first: `first_budget`).

    Cuts fall after a sentence where that keeps the piece at least half full, else
    between words, else between characters; never inside a tag or an entity. Tags open
    at a cut are closed before it and reopened after it.
    """
    atoms = _ATOM.findall(line)
    pieces: list[str] = []
    open_tags: list[tuple[str, str]] = []  # (name, opening tag) open before atoms[start]
    start, limit = 0, first_budget
    while start < len(atoms):
        while start < len(atoms) and atoms[start].isspace():
            start += 1
        if start == len(atoms):
            break
        reopen = "".join(tag for _, tag in open_tags)
        length = telegram_length(reopen)
        tags = list(open_tags)
        # Best cut so far for each kind: after a sentence, between words, anywhere.
        cuts: dict[str, tuple[int, list[tuple[str, str]], int]] = {}
        end = start
        while end < len(atoms):
            atom = atoms[end]
            after = _track_tags(tags, atom)
            closing = sum(len(name) + 3 for name, _ in after)
            size = telegram_length(atom)
            if end > start and length + size + closing > limit:
                break
            length += size
            tags = after
            end += 1
            if atom.startswith("<") and not atom.startswith("</"):
                continue  # never end a piece with an opening tag
            following = atoms[end] if end < len(atoms) else ""
            if following.isspace():
                kind = "sentence" if _ends_sentence(atoms, start, end) else "word"
                cuts[kind] = (end, tags, length)
            cuts["any"] = (end, tags, length)
        if end == len(atoms):
            cut, tags_at_cut = end, tags
        else:
            sentence, word = cuts.get("sentence"), cuts.get("word")
            if sentence and sentence[2] >= limit // 2:
                chosen = sentence
            else:
                chosen = word or sentence or cuts.get("any") or (end, tags, length)
            cut, tags_at_cut, _ = chosen
        text = "".join(atoms[start:cut]).rstrip()
        closers = "".join(f"</{name}>" for name, _ in reversed(tags_at_cut))
        pieces.append(reopen + text + closers)
        open_tags, start, limit = tags_at_cut, cut, budget
    return pieces


def _track_tags(tags: list[tuple[str, str]], atom: str) -> list[tuple[str, str]]:
    """Return the open tags after `atom`, given those open before it."""
    match = _TAG.match(atom)
    if not match:
        return tags
    name = match.group(2).lower()
    if not match.group(1):
        return [*tags, (name, atom)]
    for i in range(len(tags) - 1, -1, -1):
        if tags[i][0] == name:
            return tags[:i] + tags[i + 1 :]
    return tags


def _ends_sentence(atoms: list[str], start: int, end: int) -> bool:
    """Tell whether the text before atoms[end] ends a sentence (closing tags aside)."""
    i = end - 1
    while i > start and atoms[i].startswith("</"):
        i -= 1
    return atoms[i] in _SENTENCE_END


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def _plain(text: str) -> str:
    """Escape text line by line, dropping blank lines (a blank line separates blocks)."""
    return _join_lines(_escape(line.rstrip()) for line in text.splitlines() if line.strip())


def _styled(tag: str, text: str) -> str:
    """Wrap each line of text in `tag`, so that no tag spans a line break."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return _join_lines(f"<{tag}>{_escape(line)}</{tag}>" for line in lines)


def _join_lines(lines: Iterable[str]) -> str:
    return "\n".join(line for line in lines if line)
