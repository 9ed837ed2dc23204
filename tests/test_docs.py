"""The README agrees with the code: set-up commands, CI, every command, the JSON object."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from psoasbot.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def code_blocks(text: str, language: str) -> list[str]:
    return [m.strip() for m in re.findall(rf"^```{language}\n(.*?)^```", text, re.M | re.S)]


def commands() -> list[str]:
    parser = build_parser()
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(sub.choices)


def test_setup_has_exactly_two_commands() -> None:
    blocks = code_blocks(section("Set-up"), "sh")
    assert len(blocks) == 2
    assert all("\n" not in block for block in blocks), "each set-up command is one line"
    assert "psoasbot ask" in blocks[0]
    assert "pytest" in blocks[1]


def test_ci_runs_the_readme_test_command_word_for_word() -> None:
    test_command = code_blocks(section("Set-up"), "sh")[1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci.splitlines()


@pytest.mark.parametrize("command", commands(), ids=commands())
def test_every_command_is_documented(command: str) -> None:
    documented = f"`psoasbot {command}" in README
    assert documented, f"README does not document `psoasbot {command}`"


def test_the_json_example_has_the_keys_of_an_answer() -> None:
    [example] = code_blocks(README, "json")
    data = json.loads(example)
    assert list(data) == [
        "question",
        "status",
        "urgent",
        "notice",
        "passages",
        "disclaimer",
        "scope",
    ]
    assert [list(p) for p in data["passages"]] == [
        ["rank", "id", "doc_id", "title", "section", "text", "score", "citation"]
    ]
    assert list(data["scope"]) == ["covered", "reason", "topic", "off_topic"]


def test_the_sample_answer_is_what_psoasbot_answers() -> None:
    from psoasbot import Assistant
    from psoasbot.render import to_text

    [sample] = [b for b in code_blocks(README, "text") if b.startswith("$ psoasbot ask")]
    command, _, shown = sample.partition("\n")
    question = command.removeprefix("$ psoasbot ask ").strip('"')
    assert shown == to_text(Assistant.from_corpus().ask(question), width=88)
