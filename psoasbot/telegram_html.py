"""Answer and sources -> Telegram HTML messages, and the bot's fixed reply texts.

This is the one place to change how the bot's replies look. Messages are split to fit
Telegram's limit, counted in UTF-16 code units as Telegram counts them. Nothing here
imports telegram: the bot (telegram_bot/) only sends what this module makes.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

from psoasbot.models import Answer, Source
from psoasbot.render import plural

TELEGRAM_MAX_CHARS = 4096

# --- the bot's fixed replies --------------------------------------------------------------

# The bot's commands and their descriptions, in menu order (registered with setMyCommands).
COMMANDS = (
    ("ask", "Ask a question about the psoas"),
    ("sources", "The articles my answers quote"),
    ("help", "How to ask"),
    ("start", "What this bot does and doesn't do"),
)
EXAMPLE_QUESTION = "Why doesn't stretching help my tight psoas?"
APOLOGY = "Sorry, something went wrong while I was answering. Please try again in a moment."
UNSUPPORTED = (
    "I can only read text. Please type your question as a message, for example:\n"
    f"<i>{EXAMPLE_QUESTION}</i>"
)
ASK_USAGE = "Write your question after /ask, for example:\n<code>/ask why is my psoas tight?</code>"
EMPTY_MENTION = "Yes? Write your question after my name, or reply to one of my messages."
UNKNOWN_COMMAND = "I don't know that command. Send me your question as a message, or see /help."
SLOW_DOWN = (
    "You're sending questions faster than I can answer them well. Please wait about "
    "{seconds} seconds, then ask again."
)
STALE_BUTTON = "This button no longer works; send me your question as a message."
# Starts a reply sent long after its question (the bot was restarted, or Telegram made it
# wait): the first message of the reply begins with it.
LATE_REPLY = "<i>Sorry for the delay in answering.</i>\n\n"


def start_messages(articles: int, username: str, disclaimer: str) -> list[str]:
    """/start: what the bot does and doesn't do, how to ask, an example, the disclaimer."""
    blocks = [
        "<b>Hello! I answer questions about a tight or painful psoas</b>, the deep "
        "hip-flexor muscle that joins the lower spine to the thigh.",
        f"I reply with passages quoted word for word from {plural(articles, 'article')}, "
        "each with its source. I don't diagnose, I don't write advice of my own, and I'm not "
        "a doctor. When a message describes emergency warning signs, I tell you to get "
        "urgent care first.",
        _how_to_ask(username),
        "/sources lists the articles; /help shows how to ask.",
    ]
    return pack_telegram_html(blocks, telegram_disclaimer(disclaimer))


def help_messages(username: str) -> list[str]:
    """/help: how to ask, in private and in groups, and the commands."""
    commands = "\n".join(f"/{name} – {description}" for name, description in COMMANDS)
    return pack_telegram_html([_how_to_ask(username), "<b>Commands</b>\n" + commands])


def _how_to_ask(username: str) -> str:
    return (
        "<b>How to ask</b>\n"
        "Send me your question as a message, for example:\n"
        f"<i>{EXAMPLE_QUESTION}</i>\n"
        f"In a group, write /ask and your question, mention @{_escape(username)}, or reply "
        "to one of my messages."
    )


# --- answers and sources --------------------------------------------------------------------


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
    blocks = [_styled("b", f"My answers quote these {plural(len(sources), 'article')}:")]
    for n, src in enumerate(sources, 1):
        by = f", by {src.author}" if src.author else ""
        count = plural(src.passages, "passage")
        lines = [f"{n}. " + _styled("b", src.title), _escape(f"{src.source}{by}: {count}")]
        if src.url:
            lines.append(_escape(src.url))
        blocks.append(_join_lines(lines))
    return pack_telegram_html(blocks, "", max_chars)


# --- packing blocks into messages -----------------------------------------------------------

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


# --- HTML ------------------------------------------------------------------------------------


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
