"""Shared fixtures: a tiny corpus written to tmp_path, so tests know every passage by heart.

The tiny corpus uses words no psoas article has ("accordion", "lantern", "pebble",
"marigold"), so its rankings do not depend on the built-in corpus or on query expansion.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from psoasbot import Assistant

# In CI the property tests draw the same examples every run, so that a run's verdict is
# the code's, not the luck of the draw; elsewhere they explore afresh each time (and a
# failure they find prints how to reproduce it).
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

ACCORDION_MD = """\
---
title: The Accordion Stretch
source: accordion-source.txt
url: https://example.org/accordion
author: Ada Lovelace
tags: unknown keys are ignored
---

The accordion stretch opens the front of the hip in slow, even waves.

## Getting Ready

Fold a blanket & kneel on it. You will need:

- a folded blanket
- a quiet room
- ten minutes

## The Movement

### Marigold Variation

Sway forward, then back, like bellows opening & closing. Keep the knee < 90 degrees and \
the hips > the heels.
"""

LANTERN_MD = """\
---
title: Lantern Breathing Basics
source: lantern-source.txt
---

## Lantern Breath

Breathe in while you picture a lantern glowing low in the belly. Breathe out slowly and \
let the glow fade.

## Evening Routine

Dim the lights each evening and repeat the lantern breath five times before sleep.
"""

PEBBLE_TXT = """\
Pebble Walking

Walking barefoot on smooth pebbles wakes up the feet and relaxes the legs.

Why Pebbles Help

Uneven pebbles make the small foot muscles work, which many walkers find soothing.
"""

TINY_FILES = {
    "accordion.md": ACCORDION_MD,
    "lantern.md": LANTERN_MD,
    "notes/pebble.txt": PEBBLE_TXT,
}


class FakeTTY(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def write_corpus(folder: Path, files: dict[str, str | bytes]) -> Path:
    """Write {relative path: text or bytes} under `folder` and return the folder."""
    for name, content in files.items():
        file = folder / name
        file.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            file.write_bytes(content)
        else:
            file.write_text(content, encoding="utf-8")
    return folder


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    """Three small documents: two .md with front matter and sections, one .txt in a sub-folder.

    Passages (one per section): accordion#0 (before the first heading), accordion#1
    "Getting Ready" (a sentence and the list it introduces), accordion#2 "Marigold
    Variation" (under "The Movement"), lantern#0 "Lantern Breath", lantern#1 "Evening
    Routine", notes/pebble#0 (before the first heading), notes/pebble#1 "Why Pebbles Help".
    """
    return write_corpus(tmp_path / "tiny", dict(TINY_FILES))


@pytest.fixture
def tiny_assistant(tiny_corpus: Path) -> Assistant:
    return Assistant.from_corpus(tiny_corpus)


@pytest.fixture
def no_nltk_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Hide every nltk data folder, so a test fails if it needs an nltk download."""
    import nltk.data

    from psoasbot.chunking import _sentence_tokenizer

    monkeypatch.setattr(nltk.data, "path", [str(tmp_path / "no-nltk-data")])
    _sentence_tokenizer.cache_clear()
    yield
    _sentence_tokenizer.cache_clear()


@pytest.fixture(autouse=True)
def _cache_in_tmp(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Keep the front-ends' index cache out of ~/.cache: one folder for the test session."""
    monkeypatch.setenv("PSOASBOT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "index-cache"))


@pytest.fixture(autouse=True)
def _words_only_unless_marked(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Match by words only in every test not marked `semantic`, extra installed or not.

    With the [semantic] extra installed, the library and the CLI match by meaning too by
    default; the exact rankings most tests assert are those of words alone. The tests
    marked `semantic` (tests/test_semantic.py) run the model.
    """
    if request.node.get_closest_marker("semantic") is None:
        from psoasbot import models, semantic

        monkeypatch.setattr(models, "semantic_installed", lambda: False)
        # What such a test loads (or fails to) is forgotten after it.
        monkeypatch.setattr(semantic, "_loaded", None)
