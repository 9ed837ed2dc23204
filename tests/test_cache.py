"""cache.py: a cached index is reused while valid, rebuilt otherwise, never trusted blindly."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import write_corpus

from psoasbot import Assistant, CorpusError, IndexSettings
from psoasbot import cache as cache_module
from psoasbot.cache import (
    _HEADER,
    MAGIC,
    cache_dir_from_env,
    cache_key,
    code_fingerprint,
    load_or_build,
    package_fingerprint,
)
from psoasbot.pipeline import index_folder

SETTINGS = IndexSettings()


class Builder:
    """A build function that counts its calls and returns a fresh picklable value."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> dict[str, object]:
        self.calls += 1
        return {"built": self.calls, "passages": ["a", "b"]}


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def load(cache_dir: Path, tiny_corpus: Path) -> Callable[..., object]:
    """load_or_build on the tiny corpus with the default engine and settings."""

    def load(
        build: Builder, settings: IndexSettings = SETTINGS, engine: str = "rank-bm25"
    ) -> object:
        return load_or_build(cache_dir, tiny_corpus, engine, settings, build)

    return load


def cache_file(cache_dir: Path) -> Path:
    (file,) = cache_dir.glob("index-*.pickle")
    return file


def test_second_load_comes_from_the_cache(load: Callable[..., object], cache_dir: Path) -> None:
    build = Builder()
    first = load(build)
    second = load(build)
    assert build.calls == 1
    assert first == second == {"built": 1, "passages": ["a", "b"]}
    assert [p.name for p in cache_dir.iterdir()] == [cache_file(cache_dir).name]  # no temp file


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_cache_folder_and_file_are_private(load: Callable[..., object], cache_dir: Path) -> None:
    load(Builder())
    assert cache_dir.stat().st_mode & 0o777 == 0o700
    assert cache_file(cache_dir).stat().st_mode & 0o777 == 0o600


def test_no_cache_dir_always_builds(tiny_corpus: Path) -> None:
    build = Builder()
    load_or_build(None, tiny_corpus, "rank-bm25", SETTINGS, build)
    load_or_build(None, tiny_corpus, "rank-bm25", SETTINGS, build)
    assert build.calls == 2


@pytest.mark.parametrize(
    "change",
    ["edit a document", "add a document", "remove a document", "rename a document"],
)
def test_a_corpus_change_rebuilds(
    load: Callable[..., object], tiny_corpus: Path, cache_dir: Path, change: str
) -> None:
    build = Builder()
    load(build)
    lantern = tiny_corpus / "lantern.md"
    if change == "edit a document":
        lantern.write_text(lantern.read_text() + "\nOne more lantern sentence.\n")
    elif change == "add a document":
        write_corpus(tiny_corpus, {"extra.md": "# Extra\n\nA new pebble article.\n"})
    elif change == "remove a document":
        lantern.unlink()
    else:
        lantern.rename(tiny_corpus / "lanterns.md")
    assert load(build) == {"built": 2, "passages": ["a", "b"]}
    assert load(build) == {"built": 2, "passages": ["a", "b"]}  # and the new one is cached
    assert len(list(cache_dir.glob("index-*.pickle"))) == 1  # replaced, not added


def test_same_size_and_mtime_but_other_bytes_rebuilds(
    load: Callable[..., object], tiny_corpus: Path
) -> None:
    build = Builder()
    load(build)
    lantern = tiny_corpus / "lantern.md"
    stat = lantern.stat()
    text = lantern.read_bytes()
    lantern.write_bytes(text.replace(b"lantern", b"LANTERN", 1))
    os.utime(lantern, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    load(build)
    assert build.calls == 2


def test_hidden_and_other_files_do_not_count(
    load: Callable[..., object], tiny_corpus: Path
) -> None:
    build = Builder()
    load(build)
    write_corpus(tiny_corpus, {".hidden.md": "# Hidden\n\nNot read.\n", "image.png": "not text"})
    load(build)
    assert build.calls == 1


def test_settings_and_engine_have_their_own_files(
    load: Callable[..., object], cache_dir: Path
) -> None:
    build = Builder()
    load(build)
    load(build, settings=IndexSettings(k1=1.0))
    load(build, engine="bm25s")
    load(build)
    load(build, settings=IndexSettings(k1=1.0))
    assert build.calls == 3
    assert len(list(cache_dir.glob("index-*.pickle"))) == 3


def test_a_change_of_psoasbot_code_or_version_rebuilds(
    load: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    build = Builder()
    load(build)
    monkeypatch.setattr(cache_module, "code_fingerprint", lambda: "another analysis.py")
    load(build)
    assert build.calls == 2


def test_code_fingerprint_covers_code_and_data(tmp_path: Path) -> None:
    import psoasbot

    package = Path(psoasbot.__file__).parent
    copy = tmp_path / "psoasbot"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__", "_corpus"))
    before = code_fingerprint()
    assert package_fingerprint(copy) == before
    init = copy / "__init__.py"
    init.write_text(init.read_text().replace(psoasbot.__version__, "99.0"))  # a new version
    assert package_fingerprint(copy) != before
    files = {p.name for p in package.glob("*.py")} | {p.name for p in package.glob("data/*")}
    assert {"analysis.py", "chunking.py", "stopwords.txt"} <= files


def test_a_change_of_library_version_rebuilds(
    load: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    import nltk

    build = Builder()
    load(build)
    monkeypatch.setattr(nltk, "__version__", "0.0.1")
    load(build)
    assert build.calls == 2


def corrupt_payload(file: Path) -> None:
    data = bytearray(file.read_bytes())
    data[_HEADER.size + 5] ^= 0xFF
    file.write_bytes(bytes(data))


def truncate(file: Path) -> None:
    file.write_bytes(file.read_bytes()[:-7])


def truncate_header(file: Path) -> None:
    file.write_bytes(file.read_bytes()[:10])


def wrong_magic(file: Path) -> None:
    data = file.read_bytes()
    file.write_bytes(b"X" + data[1:])


def empty(file: Path) -> None:
    file.write_bytes(b"")


def garbage(file: Path) -> None:
    file.write_bytes(os.urandom(5000))


def appended(file: Path) -> None:
    file.write_bytes(file.read_bytes() + b"\0")


def foreign_key(file: Path) -> None:
    data = bytearray(file.read_bytes())
    data[len(MAGIC)] ^= 0xFF
    file.write_bytes(bytes(data))


def valid_hash_bad_pickle(file: Path) -> None:
    """A well-formed file whose payload is not a pickle: unpickling fails, so rebuild."""
    magic, key, _size, _hash = _HEADER.unpack(file.read_bytes()[: _HEADER.size])
    payload = b"\x80\x05this is not a pickle"
    import hashlib

    header = _HEADER.pack(magic, key, len(payload), hashlib.sha256(payload).digest())
    file.write_bytes(header + payload)


def a_folder(file: Path) -> None:
    file.unlink()
    file.mkdir()


CORRUPTIONS = [
    corrupt_payload,
    truncate,
    truncate_header,
    wrong_magic,
    empty,
    garbage,
    appended,
    foreign_key,
    valid_hash_bad_pickle,
]


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=[c.__name__ for c in CORRUPTIONS])
def test_a_corrupt_cache_file_is_rebuilt_and_replaced(
    load: Callable[..., object], cache_dir: Path, corrupt: Callable[[Path], None]
) -> None:
    build = Builder()
    load(build)
    corrupt(cache_file(cache_dir))
    assert load(build) == {"built": 2, "passages": ["a", "b"]}
    assert load(build) == {"built": 2, "passages": ["a", "b"]}  # the rebuilt one is cached


def test_a_payload_is_not_unpickled_before_its_hash_is_checked(
    load: Callable[..., object], cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(Builder())
    corrupt_payload(cache_file(cache_dir))
    unpickled: list[object] = []
    monkeypatch.setattr(pickle, "load", lambda *a, **k: unpickled.append(a))
    load(Builder())
    assert unpickled == []


def test_a_directory_in_place_of_the_file_is_ignored(
    load: Callable[..., object], cache_dir: Path
) -> None:
    build = Builder()
    load(build)
    a_folder(cache_file(cache_dir))
    assert load(build) == {"built": 2, "passages": ["a", "b"]}  # built, and not stored
    assert load(build) == {"built": 3, "passages": ["a", "b"]}


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_a_file_others_can_write_is_not_trusted(
    load: Callable[..., object], cache_dir: Path
) -> None:
    build = Builder()
    load(build)
    cache_file(cache_dir).chmod(0o666)
    load(build)
    assert build.calls == 2


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX ownership")
def test_a_file_owned_by_someone_else_is_not_trusted(
    load: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    build = Builder()
    load(build)
    monkeypatch.setattr(os, "getuid", lambda: 12345)
    load(build)
    assert build.calls == 2


def test_an_unwritable_cache_folder_is_skipped_silently(tmp_path: Path, tiny_corpus: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("a file where the cache folder would go")
    build = Builder()
    for _ in range(2):
        value = load_or_build(not_a_folder / "cache", tiny_corpus, "rank-bm25", SETTINGS, build)
        assert value == {"built": build.calls, "passages": ["a", "b"]}
    assert build.calls == 2


def test_a_failed_write_leaves_no_file(
    load: Callable[..., object], cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(src: str, dst: str) -> None:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(os, "replace", refuse)
    load(Builder())
    assert list(cache_dir.iterdir()) == []


def test_an_unpicklable_value_is_not_cached(load: Callable[..., object], cache_dir: Path) -> None:
    calls = []

    def build() -> object:
        calls.append(1)
        return lambda: "a lambda cannot be pickled"

    load(build)
    load(build)
    assert len(calls) == 2
    assert list(cache_dir.iterdir()) == []


def test_a_document_edited_during_the_build_is_not_cached(
    load: Callable[..., object], tiny_corpus: Path, cache_dir: Path
) -> None:
    lantern = tiny_corpus / "lantern.md"

    def build() -> str:
        lantern.write_text(lantern.read_text() + "\nEdited while indexing.\n")
        return "index of which version?"

    load(build)
    assert not cache_dir.exists() or list(cache_dir.iterdir()) == []


def test_a_missing_corpus_raises_the_corpus_error(cache_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="does not exist"):
        load_or_build(cache_dir, tmp_path / "missing", "rank-bm25", SETTINGS, Builder())


def test_key_depends_on_every_part(tiny_corpus: Path) -> None:
    keys = {
        cache_key(tiny_corpus, "rank-bm25", SETTINGS),
        cache_key(tiny_corpus, "bm25s", SETTINGS),
        cache_key(tiny_corpus, "rank-bm25", IndexSettings(b=0.3)),
        cache_key(tiny_corpus / "notes", "rank-bm25", SETTINGS),
    }
    assert len(keys) == 4
    assert cache_key(tiny_corpus, "rank-bm25", SETTINGS) == cache_key(
        tiny_corpus, "rank-bm25", IndexSettings()
    )


@pytest.mark.parametrize("engine", ["rank-bm25", "bm25s"])
def test_assistant_from_the_cache_answers_the_same(
    tiny_corpus: Path, cache_dir: Path, engine: str
) -> None:
    index_folder.cache_clear()
    built = Assistant.from_corpus(tiny_corpus, engine=engine, cache_dir=cache_dir)
    assert cache_file(cache_dir).exists()
    index_folder.cache_clear()  # as in a new process
    loaded = Assistant.from_corpus(tiny_corpus, engine=engine, cache_dir=str(cache_dir))
    index_folder.cache_clear()
    assert loaded.index is not built.index
    assert loaded.sources() == built.sources()
    for question in ["how do I kneel for the accordion stretch?", "lantern breath at night"]:
        assert loaded.ask(question).to_dict() == built.ask(question).to_dict()


def test_cli_uses_the_cache_folder_from_the_environment(tiny_corpus: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cli-cache"
    env = {**os.environ, "PSOASBOT_CACHE_DIR": str(cache_dir)}
    command = [sys.executable, "-m", "psoasbot", "ask", "--corpus", str(tiny_corpus), "pebbles"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    assert cache_file(cache_dir).exists()
    second = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    assert second.stdout == first.stdout
    assert "pebble" in first.stdout.lower()


def test_cli_with_an_unwritable_cache_folder_still_answers(
    tiny_corpus: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    env = {**os.environ, "PSOASBOT_CACHE_DIR": str(blocker / "cache")}
    command = [sys.executable, "-m", "psoasbot", "ask", "--corpus", str(tiny_corpus), "pebbles"]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    assert (result.returncode, result.stderr) == (0, "")


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"PSOASBOT_CACHE_DIR": "/srv/psoasbot-cache"}, "/srv/psoasbot-cache"),
        ({"PSOASBOT_CACHE_DIR": "~/psoasbot-cache"}, "/home/ada/psoasbot-cache"),
        ({"PSOASBOT_CACHE_DIR": ""}, None),
        ({"PSOASBOT_CACHE_DIR": "  "}, None),
        ({}, "/home/ada/.cache/psoasbot"),
        ({"XDG_CACHE_HOME": "/xdg"}, "/xdg/psoasbot"),
        ({"XDG_CACHE_HOME": "relative"}, "/home/ada/.cache/psoasbot"),
    ],
    ids=[
        "variable",
        "variable-home",
        "empty-turns-off",
        "blank-turns-off",
        "linux",
        "xdg",
        "xdg-relative-ignored",
    ],
)
@pytest.mark.skipif(sys.platform != "linux", reason="the Linux folders")
def test_cache_dir_from_env(
    environ: dict[str, str], expected: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # platformdirs reads the home folder and XDG_CACHE_HOME from the process environment.
    monkeypatch.setenv("HOME", "/home/ada")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    if "XDG_CACHE_HOME" in environ:
        monkeypatch.setenv("XDG_CACHE_HOME", environ["XDG_CACHE_HOME"])
    result = cache_dir_from_env(environ)
    assert result == (Path(expected) if expected is not None else None)


# --- what another user of a shared cache folder could plant there -----------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_fifo_at_the_cache_path_is_skipped_without_waiting(
    load: Callable[..., object], cache_dir: Path
) -> None:
    build = Builder()
    load(build)
    file = cache_file(cache_dir)
    file.unlink()
    os.mkfifo(file, 0o600)
    # Opening a FIFO for reading waits for a writer: this would hang without O_NONBLOCK.
    assert load(build) == {"built": 2, "passages": ["a", "b"]}
    assert load(build) == {"built": 2, "passages": ["a", "b"]}  # replaced by a real file
    assert file.is_file()


@pytest.mark.skipif(not hasattr(os, "O_NOFOLLOW"), reason="POSIX O_NOFOLLOW")
def test_a_symbolic_link_at_the_cache_path_is_not_followed(
    load: Callable[..., object], cache_dir: Path, tmp_path: Path
) -> None:
    build = Builder()
    load(build)
    file = cache_file(cache_dir)
    elsewhere = tmp_path / "elsewhere.pickle"
    file.rename(elsewhere)  # a valid cache file, but reached through a link
    file.symlink_to(elsewhere)
    assert load(build) == {"built": 2, "passages": ["a", "b"]}
    assert not file.is_symlink()  # the rebuilt file replaced the link, not its target


def test_a_payload_of_the_wrong_type_is_discarded_and_rebuilt(
    cache_dir: Path, tiny_corpus: Path
) -> None:
    def build() -> list[str]:
        return ["a list, where the caller wants a dict"]

    load_or_build(cache_dir, tiny_corpus, "rank-bm25", SETTINGS, build)
    rebuilt = load_or_build(cache_dir, tiny_corpus, "rank-bm25", SETTINGS, Builder(), dict)
    assert rebuilt == {"built": 1, "passages": ["a", "b"]}
    again = Builder()
    assert load_or_build(cache_dir, tiny_corpus, "rank-bm25", SETTINGS, again, dict) == rebuilt
    assert again.calls == 0


def test_the_assistant_rebuilds_a_cache_file_of_the_wrong_type(
    tiny_corpus: Path, tmp_path: Path
) -> None:
    cache_dir = tmp_path / "cache"
    # The slot and key of the assistant's own index, with another object in the file.
    load_or_build(cache_dir, tiny_corpus, "rank-bm25", SETTINGS, lambda: {"not": "an index"})
    index_folder.cache_clear()
    try:
        assistant = Assistant.from_corpus(tiny_corpus, cache_dir=cache_dir)
    finally:
        index_folder.cache_clear()
    assert assistant.ask("pebbles").passages


def test_a_file_over_the_size_limit_is_not_read(
    load: Callable[..., object], cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build = Builder()
    load(build)
    monkeypatch.setattr(cache_module, "MAX_FILE_BYTES", cache_file(cache_dir).stat().st_size - 1)
    load(build)
    assert build.calls == 2


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_folders_are_created_private_whatever_the_umask(tmp_path: Path, tiny_corpus: Path) -> None:
    cache_dir = tmp_path / "home" / ".cache" / "psoasbot"
    old = os.umask(0)
    try:
        load_or_build(cache_dir, tiny_corpus, "rank-bm25", SETTINGS, Builder())
    finally:
        os.umask(old)
    modes = {
        p.name: p.stat().st_mode & 0o777
        for p in (cache_dir.parent.parent, cache_dir.parent, cache_dir)
    }
    assert modes == {"home": 0o700, ".cache": 0o700, "psoasbot": 0o700}
    assert cache_file(cache_dir).stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("enabled", [True, False])
def test_loading_leaves_the_garbage_collector_as_it_was(
    load: Callable[..., object], enabled: bool
) -> None:
    import gc

    load(Builder())
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        assert load(Builder()) == {"built": 1, "passages": ["a", "b"]}
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_only_the_most_recently_used_files_are_kept(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache_module, "MAX_FILES", 3)
    folders = [write_corpus(tmp_path / f"c{i}", {"a.md": f"# A\n\nText {i}.\n"}) for i in range(5)]
    build = Builder()
    for age, folder in enumerate(folders[:4]):
        load_or_build(cache_dir, folder, "rank-bm25", SETTINGS, build)
        file = max(cache_dir.glob("index-*.pickle"), key=lambda p: p.stat().st_mtime_ns)
        os.utime(file, (1000 + age, 1000 + age))
    assert len(list(cache_dir.glob("index-*.pickle"))) == 3  # the first one went
    load_or_build(cache_dir, folders[1], "rank-bm25", SETTINGS, build)  # used: now the newest
    load_or_build(cache_dir, folders[4], "rank-bm25", SETTINGS, build)  # evicts folders[2]
    assert build.calls == 5
    for folder in (folders[1], folders[3], folders[4]):
        load_or_build(cache_dir, folder, "rank-bm25", SETTINGS, build)
    assert build.calls == 5
    load_or_build(cache_dir, folders[2], "rank-bm25", SETTINGS, build)
    assert build.calls == 6


def test_stale_temporary_files_are_removed(load: Callable[..., object], cache_dir: Path) -> None:
    cache_dir.mkdir()
    stale, fresh = cache_dir / ".tmp-dead.pickle", cache_dir / ".tmp-writing.pickle"
    stale.write_bytes(b"left by a process that was killed")
    fresh.write_bytes(b"another process is writing this one")
    os.utime(stale, (1000, 1000))
    load(Builder())
    assert not stale.exists()
    assert fresh.exists()
