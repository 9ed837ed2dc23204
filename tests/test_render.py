"""render.py: what reaches a terminal never carries the corpus's control characters raw."""

from __future__ import annotations

import json

from psoasbot import DISCLAIMER
from psoasbot.models import Answer, Hit, Passage, Source
from psoasbot.render import sources_to_json, sources_to_text, to_json, to_text

# ESC [2J clears the screen, OSC 0 sets the window title, 0x9b is the one-byte CSI.
HOSTILE = "Kneel\x1b[2J down\x1b]0;owned\x07 slowly\x9b31m.\x7f"


def hostile_answer() -> Answer:
    passage = Passage(
        id="a#0", doc_id="a", title="Title\x1b[31m", section="Section", text=HOSTILE, position=0
    )
    return Answer("q", "answered", (Hit(passage, 1.0, 1),), DISCLAIMER)


def test_terminal_text_replaces_control_characters() -> None:
    text = to_text(hostile_answer(), width=100)
    assert text.splitlines()[:2] == [
        "1. Title\ufffd[31m › Section",
        "   Kneel\ufffd[2J down\ufffd]0;owned\ufffd slowly\ufffd31m.\ufffd",
    ]
    assert not any(ch in text for ch in "\x1b\x07\x9b\x7f")


def test_colour_codes_are_still_ours() -> None:
    text = to_text(hostile_answer(), width=100, color=True)
    assert text.count("\x1b") == 4  # bold on and off, dim on and off: no others


def test_sources_text_replaces_control_characters() -> None:
    source = Source("a", "T\x1b[2J", "s\x1b.md", 2, author="A\x9b")
    assert sources_to_text([source]) == "1. T\ufffd[2J\n   s\ufffd.md, by A\ufffd: 2 passages"


def test_json_escapes_every_control_character_and_keeps_the_data() -> None:
    line = to_json(hostile_answer())
    assert not any(ch in line for ch in "\x1b\x07\x9b\x7f")
    assert json.loads(line)["passages"][0]["text"] == HOSTILE
    listing = sources_to_json([Source("a", "T\x9b", "s", 1)])
    assert "\\u009b" in listing and json.loads(listing)[0]["title"] == "T\x9b"
