"""The package metadata pip sees (licence, Python versions, extras), and how CI uses the extras."""

from __future__ import annotations

import re
from importlib.metadata import metadata, requires
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def extra(name: str) -> list[str]:
    """The requirement names of one extra, from the installed metadata."""
    found = []
    for requirement in requires("psoasbot") or []:
        if f"extra == '{name}'" in requirement or f'extra == "{name}"' in requirement:
            found.append(re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0])
    return sorted(found)


def test_the_licence_file_is_mit_and_matches_the_metadata() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.splitlines()[:3] == ["MIT License", "", "Copyright (c) 2026 psoasbot developers"]
    meta = metadata("psoasbot")
    assert meta["License-Expression"] == "MIT"
    assert meta.get_all("License-File") == ["LICENSE"]


def test_the_python_classifiers_are_the_versions_it_supports() -> None:
    meta = metadata("psoasbot")
    versions = [
        c.removeprefix("Programming Language :: Python :: ")
        for c in meta.get_all("Classifier") or []
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    ]
    assert meta["Requires-Python"] == ">=3.10"
    assert versions == ["3.10", "3.11", "3.12", "3.13"]


def test_linters_are_in_the_dev_extra_not_the_test_extra() -> None:
    assert extra("test") == [
        "aiohttp",
        "bm25s",
        "hypothesis",
        "pytest",
        "pytest-asyncio",
        "python-telegram-bot",
    ]
    assert set(extra("dev")) == set(extra("test")) | {"mypy", "ruff", "types-tqdm"}


def test_ci_installs_the_dev_extra_before_linting() -> None:
    lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    install = lines.index(".venv/bin/pip install -e '.[dev]'")
    assert lines[install + 1 : install + 4] == [
        ".venv/bin/ruff check .",
        ".venv/bin/ruff format --check .",
        ".venv/bin/mypy",
    ]
    # then the suite again with the [semantic] extra
    assert lines[-1] == ".venv/bin/pip install -e '.[test,semantic]' && .venv/bin/python -m pytest"
