"""corpus.py's folder handling: every path problem is a CorpusError that names the path.

Missing, not a folder, a loop of links, too long, unreadable (the folder or a sub-folder),
and `--corpus ""`, which once indexed the current folder without a word.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from conftest import write_corpus

from psoasbot import CorpusError, cli
from psoasbot.corpus import document_files, load_corpus, resolve_folder, shown_path


def raises(message: str) -> pytest.RaisesExc[CorpusError]:
    return pytest.raises(CorpusError, match=f"^{re.escape(message)}$")


def test_a_loop_of_symbolic_links(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    message = f"corpus folder {tmp_path / 'a'} is a loop of symbolic links; pass the folder itself"
    with raises(message):
        load_corpus(tmp_path / "a")
    with raises(message):
        resolve_folder(tmp_path / "a")


def test_a_path_too_long(tmp_path: Path) -> None:
    folder = tmp_path / ("a" * 100_000)
    shown = str(folder)[:199] + "…"
    message = (
        f"corpus folder {shown} is too long a path ({len(str(folder)):,} characters); "
        "pass a shorter path to the folder"
    )
    with raises(message):
        load_corpus(folder)


def test_an_empty_path_is_not_the_current_folder() -> None:
    with raises(
        "the corpus folder path is empty; pass a folder of .md or .txt files, or none for "
        "the built-in articles"
    ):
        resolve_folder("")


@pytest.mark.parametrize("value", ["", "  "], ids=["empty", "blank"])
def test_cli_empty_corpus_is_a_usage_error(capsys: pytest.CaptureFixture[str], value: str) -> None:
    with pytest.raises(SystemExit) as exit:
        cli.main(["sources", "--corpus", value])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert err == (
        "usage: psoasbot sources [-h] [--corpus DIR] [--no-semantic] [--json]\n"
        "Error: argument --corpus: the corpus folder path is empty; pass a "
        "folder of .md or .txt files, or none for the built-in articles\n"
    )


def test_cli_corpus_loop_is_a_usage_error_naming_the_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    with pytest.raises(SystemExit) as exit:
        cli.main(["ask", "--corpus", str(tmp_path / "loop"), "hello"])
    assert exit.value.code == 2
    assert capsys.readouterr().err.endswith(
        f"Error: argument --corpus: corpus folder {tmp_path / 'loop'} is a loop of symbolic "
        "links; pass the folder itself\n"
    )


def test_cli_corpus_too_long_is_an_error_naming_the_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = tmp_path / ("b" * 5000)
    assert cli.main(["sources", "--corpus", str(folder)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"Error: corpus folder {str(folder)[:199]}…")
    assert err.endswith("characters); pass a shorter path to the folder\n")
    assert "unexpected" not in err


def deny(monkeypatch: pytest.MonkeyPatch, denied: Path) -> None:
    """Make os.scandir refuse one folder, as chmod 0 would for anyone but root."""
    real = os.scandir

    def scandir(path: object) -> object:
        if Path(str(path)) == denied:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)  # type: ignore[call-overload]

    monkeypatch.setattr(os, "scandir", scandir)


def test_an_unreadable_folder_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_corpus(tmp_path / "c", {"a.md": "Text."})
    deny(monkeypatch, folder)
    with raises(
        f"corpus folder {folder} cannot be read (Permission denied); check that it exists and "
        "is readable"
    ):
        document_files(folder)


def test_an_unreadable_sub_folder_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_corpus(tmp_path / "c", {"a.md": "Text.", "more/b.md": "Text b."})
    deny(monkeypatch, folder / "more")
    with raises(
        f"{folder / 'more'}: a sub-folder of the corpus that cannot be read (Permission "
        "denied); make it readable, or move it out of the corpus folder"
    ):
        load_corpus(folder)


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads folders whatever their mode"
)
def test_an_unreadable_sub_folder_for_real(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", {"a.md": "Text.", "more/b.md": "Text b."})
    (folder / "more").chmod(0)
    try:
        with pytest.raises(CorpusError, match="a sub-folder of the corpus that cannot be read"):
            load_corpus(folder)
    finally:
        (folder / "more").chmod(0o755)


def test_links_to_folders_are_not_followed(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", {"a.md": "Text a."})
    write_corpus(tmp_path / "elsewhere", {"b.md": "Text b."})
    (folder / "self").symlink_to(folder)  # a loop, if it were followed
    (folder / "linked").symlink_to(tmp_path / "elsewhere")
    (folder / "linked.md").symlink_to(tmp_path / "elsewhere" / "b.md")  # a linked file is read
    assert [d.id for d in load_corpus(folder)] == ["a", "linked"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_fifo_named_like_a_document_is_not_read(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", {"a.md": "Text a."})
    os.mkfifo(folder / "pipe.md")
    assert [d.id for d in load_corpus(folder)] == ["a"]


def test_control_characters_in_a_path_are_escaped_in_messages(tmp_path: Path) -> None:
    folder = tmp_path / "evil\x1b[2Jname"
    assert shown_path(folder) == str(tmp_path) + "/evil\\x1b[2Jname"
    with raises(
        f"corpus folder {tmp_path}/evil\\x1b[2Jname does not exist; pass a folder of .md or "
        ".txt files"
    ):
        load_corpus(folder)


@pytest.mark.parametrize("name", ["", "loop"], ids=["empty", "link-loop"])
def test_the_library_names_a_bad_corpus_path(tmp_path: Path, name: str) -> None:
    from psoasbot import Assistant

    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    path = str(tmp_path / name) if name else ""
    with pytest.raises(CorpusError) as exc:
        Assistant.from_corpus(path)
    assert ("empty" if not name else f"{tmp_path / 'loop'} is a loop") in str(exc.value)
