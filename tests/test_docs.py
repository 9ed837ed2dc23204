"""The README agrees with the code: set-up commands, CI, every command, the JSON object."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import psoasbot
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


def test_install_commands_name_a_checkout_or_a_wheel_not_a_package_index() -> None:
    # psoasbot is on no package index, so `pip install 'psoasbot[telegram]'` cannot work.
    texts = {"README.md": README} | {
        str(p.relative_to(ROOT)): p.read_text(encoding="utf-8")
        for p in sorted((ROOT / "psoasbot").rglob("*.py"))
    }
    bare = {
        name: found
        for name, text in texts.items()
        if (found := re.findall(r"pip install -?e? ?'?psoasbot\[", text))
    }
    assert bare == {}
    assert re.findall(r"pip install ([^`\n]+)", README) == [
        '. && .venv/bin/psoasbot ask "Why doesn\'t stretching help my tight psoas?"',
        "-e '.[test]' && .venv/bin/python -m pytest",
        "'.[telegram]'",
        f"'./dist/psoasbot-{psoasbot.__version__}-py3-none-any.whl[telegram]'",
        "-e '.[dev]'",
        "'.[semantic]'",
        "'.[telegram]'",
        "'.[telegram]'",
    ]


UNIT_PATH = "/opt/psoasbot/.venv"


def test_the_service_set_up_creates_the_virtualenv_the_unit_runs() -> None:
    telegram = section("Telegram bot")
    [unit] = code_blocks(telegram, "ini")
    [exec_start] = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    assert exec_start.startswith(f"ExecStart={UNIT_PATH}/bin/psoasbot telegram ")
    steps = code_blocks(telegram, "sh")[-1].splitlines()
    assert steps[0] == (
        f"sudo python3 -m venv {UNIT_PATH} && sudo {UNIT_PATH}/bin/pip install '.[telegram]'"
    )


def test_the_unit_is_hardened() -> None:
    [unit] = code_blocks(section("Telegram bot"), "ini")
    lines = set(unit.splitlines())
    wanted = {
        "DynamicUser=yes",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "CapabilityBoundingSet=",
        "SystemCallFilter=@system-service",
    }
    assert wanted - lines == set()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_the_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    [unit] = code_blocks(section("Telegram bot"), "ini")
    # Its program, where the unit looks for it: verify checks that it can be run.
    venv = tmp_path / "opt" / "psoasbot" / ".venv"
    program = venv / "bin" / "psoasbot"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\n", encoding="utf-8")
    program.chmod(0o755)
    file = tmp_path / "psoasbot.service"
    file.write_text(unit.replace(UNIT_PATH, str(venv)) + "\n", encoding="utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # It warns on stderr, with status 0, of a key it ignores: none is allowed.
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
