"""An on-disk cache of built indexes, so that a new process answers without re-indexing.

A cache file holds one pickled index and is trusted only when all of this holds, and is
rebuilt (and overwritten) otherwise:

- it is a regular file owned by the current user and writable by no one else;
- it starts with psoasbot's magic bytes and a header naming the key it was built for: the
  content of every document of the corpus (names and bytes), the index settings, the
  engine, a hash of psoasbot's own code and data files (so a new version, or a change of
  analysis, chunking or lexicon, invalidates it), and the versions of Python, numpy, nltk
  and the engine's library;
- its payload has the size and the SHA-256 the header gives: checked before unpickling, so
  a truncated or corrupt file is never unpickled.

Only a regular file is read, opened without following a symbolic link and without
waiting (a FIFO planted at the predictable path of a shared cache folder is skipped, not
waited on), and only up to MAX_FILE_BYTES; an object of another type than the one asked
for is discarded and rebuilt. Files are written to a temporary file in the cache folder
and renamed into place, so a reader never sees half a file. Folders are created readable
by their owner only, whatever the umask. A folder that cannot be created or written (a
read-only home) only means that nothing is cached. There is one file per corpus folder,
engine and settings, replaced when any part of its key changes (and, with semantic
matching, one file of passage vectors per model and passage texts, named by that key);
beyond MAX_FILES files, the least recently used are deleted.

The library reads no environment variables: front-ends pick the folder with
`cache_dir_from_env(os.environ)` and pass it to `Assistant.from_corpus(cache_dir=...)`.
"""

from __future__ import annotations

import errno
import gc
import hashlib
import json
import os
import pickle
import stat
import struct
import sys
from collections.abc import Callable, Mapping
from contextlib import suppress
from functools import lru_cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, TypeVar, cast

from psoasbot.corpus import document_files

if TYPE_CHECKING:
    from psoasbot.index import IndexSettings

T = TypeVar("T")

CACHE_DIR_VARIABLE = "PSOASBOT_CACHE_DIR"
FORMAT_VERSION = 1
MAGIC = b"psoasbot index cache\n"
# magic, SHA-256 of the key, payload size, SHA-256 of the payload
_HEADER = struct.Struct(f">{len(MAGIC)}s32sQ32s")
_CHUNK = 1 << 20
MAX_FILES = 16
# A cache file is hashed in full before it is unpickled; a bigger one (an index of many
# millions of passages, or a file planted to waste time) is not read at all.
MAX_FILE_BYTES = 8 << 30
_STALE_TEMP_SECONDS = 3600  # a temporary file this old was left by a process that died


def cache_dir_from_env(environ: Mapping[str, str]) -> Path | None:
    """Return the cache folder a front-end should use; None turns caching off.

    `$PSOASBOT_CACHE_DIR` when set (an empty value turns caching off), else the platform's
    user cache folder as platformdirs gives it: `$XDG_CACHE_HOME/psoasbot` or
    `~/.cache/psoasbot` on Linux, `~/Library/Caches/psoasbot` on macOS,
    `%LOCALAPPDATA%\\psoasbot\\Cache` on Windows. platformdirs reads `XDG_CACHE_HOME` and
    the home folder from the process environment itself (and ignores a relative
    `XDG_CACHE_HOME`, as the XDG rules say); with no home to put it in, nothing is cached.
    """
    if CACHE_DIR_VARIABLE in environ:
        value = environ[CACHE_DIR_VARIABLE]
        return Path(value).expanduser() if value.strip() else None
    import platformdirs  # only front-ends ask, so `import psoasbot` does not load it

    folder = platformdirs.user_cache_path("psoasbot", appauthor=False)
    return folder if folder.is_absolute() else None


def make_private_dir(folder: Path) -> None:
    """Create a folder, and its missing parents, readable by their owner only (0700).

    Each folder created is set to 0700 whatever the umask (`mkdir -p` would make the
    parents 0777 under `umask 000`); a folder that already exists is left as it is.

    Raises:
        OSError: a folder cannot be created, or something else is in the way.
    """
    missing: list[Path] = []
    current = Path(folder)
    while not os.path.lexists(current):
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:  # made by another process meanwhile: its mode is its own
            continue
        os.chmod(path, 0o700)
    if not os.path.isdir(folder):
        raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(folder))


def load_or_build(
    cache_dir: Path | None,
    folder: Path,
    engine: str,
    settings: IndexSettings,
    build: Callable[[], T],
    kind: type | None = None,
) -> T:
    """Return what `build()` returns for this corpus folder, engine and settings.

    Loaded from `cache_dir` when a valid cache file is there and holds an object of type
    `kind` (when given); otherwise built and stored. With `cache_dir` None, just build.

    Raises:
        CorpusError: the folder or one of its documents cannot be read.
    """
    if cache_dir is None:
        return build()
    corpus = corpus_fingerprint(folder)
    key = cache_key(folder, engine, settings, corpus)
    path = cache_dir / f"index-{_slot(folder, engine, settings)}.pickle"
    found = _load(path, key)
    # A file that passed every check but holds another type (written by a psoasbot whose
    # code hashed the same, or by hand) would break every run until deleted: rebuild it.
    if found is not _MISS and (kind is None or isinstance(found, kind)):
        with suppress(OSError):
            os.utime(path)  # recently used: kept when old files are deleted
        return cast(T, found)
    built = build()
    # A document edited while the index was being built: the index may hold either
    # version, so it is stored under no key.
    if corpus_fingerprint(folder) == corpus:
        _store(path, key, built)
    return built


def load_or_build_keyed(
    cache_dir: Path | None, kind: str, key: Mapping[str, object], build: Callable[[], T]
) -> T:
    """Return what `build()` returns for a key the caller gives (JSON-serialisable parts).

    For what is computed from an index rather than read from a folder (the passage
    vectors of semantic matching): kept in `cache_dir` as `{kind}-{hash of the key}.pickle`,
    checked and written like an index. With `cache_dir` None, just build.
    """
    if cache_dir is None:
        return build()
    parts = {"format": FORMAT_VERSION, "kind": kind, "key": key}
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).digest()
    path = cache_dir / f"{kind}-{digest.hex()[:32]}.pickle"
    found = _load(path, digest)
    if found is not _MISS:
        with suppress(OSError):
            os.utime(path)
        return cast(T, found)
    built = build()
    _store(path, digest, built)
    return built


def cache_key(
    folder: Path, engine: str, settings: IndexSettings, corpus: str | None = None
) -> bytes:
    """Return the SHA-256 of everything an index built from `folder` depends on.

    `corpus` is the folder's `corpus_fingerprint`, when the caller already has it.
    """
    parts = {
        "format": FORMAT_VERSION,
        "corpus": corpus_fingerprint(folder) if corpus is None else corpus,
        "engine": engine,
        "settings": settings.to_dict(),
        "code": code_fingerprint(),
        "libraries": _library_versions(engine),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).digest()


def corpus_fingerprint(folder: Path) -> str:
    """Hash the names and bytes of a corpus folder's documents (the files it would read).

    Raises:
        CorpusError: the folder is missing, is not a folder or has no documents.
    """
    digest = hashlib.sha256()
    for file in document_files(folder):
        try:
            data = file.read_bytes()
        except OSError:
            data = b"\xff unreadable"  # reading it for real raises the CorpusError
        name = file.relative_to(folder).as_posix().encode("utf-8", "surrogateescape")
        digest.update(struct.pack(">QQ", len(name), len(data)) + name)
        digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Hash psoasbot's own code and data files (its version, in __init__.py, among them)."""
    return package_fingerprint(Path(__file__).resolve().parent)


def package_fingerprint(package: Path) -> str:
    """Hash the names and bytes of a package folder's *.py files and its data/ folder."""
    digest = hashlib.sha256()
    files = sorted(package.rglob("*.py")) + sorted(p for p in package.glob("data/**/*"))
    for file in files:
        if file.is_file():
            digest.update(file.relative_to(package).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def _library_versions(engine: str) -> dict[str, str]:
    # Imported anyway to load any index; rank_bm25 has no __version__, so hash its source.
    import nltk
    import numpy
    import rank_bm25

    versions = {
        "python": f"{sys.implementation.name} {sys.version_info[0]}.{sys.version_info[1]}",
        "numpy": numpy.__version__,
        "nltk": nltk.__version__,
        "rank_bm25": hashlib.sha256(Path(rank_bm25.__file__).read_bytes()).hexdigest(),
    }
    if engine == "bm25s":
        try:
            import bm25s
        except ImportError:
            pass  # building raises the EngineError that says how to install it
        else:
            versions["bm25s"] = bm25s.__version__
    return versions


def _slot(folder: Path, engine: str, settings: IndexSettings) -> str:
    where = json.dumps([str(folder), engine, settings.to_dict()], sort_keys=True)
    return hashlib.sha256(where.encode("utf-8", "surrogateescape")).hexdigest()[:32]


class _Miss:
    pass


_MISS = _Miss()


def _load(path: Path, key: bytes) -> object:
    """Return the cached object, or _MISS for a missing, foreign, stale or corrupt file."""
    try:
        file = _open_regular(path)
    except OSError:
        return _MISS
    with file:
        try:
            stat = os.fstat(file.fileno())
            if not _trusted(stat) or stat.st_size > MAX_FILE_BYTES:
                return _MISS
            header = file.read(_HEADER.size)
            if len(header) != _HEADER.size:
                return _MISS
            magic, key_hash, size, payload_hash = _HEADER.unpack(header)
            if magic != MAGIC or key_hash != key:
                return _MISS
            if stat.st_size != _HEADER.size + size:
                return _MISS
            if _sha256(file) != payload_hash:
                return _MISS
            file.seek(_HEADER.size)
            return _unpickle(file)
        except Exception:  # noqa: BLE001 - any failure to read a cache file means: rebuild
            return _MISS


def _open_regular(path: Path) -> IO[bytes]:
    """Open a file for reading only if it is a regular file, never waiting to open it.

    O_NONBLOCK makes opening a FIFO return at once instead of waiting for a writer, and
    O_NOFOLLOW refuses a symbolic link; anything but a regular file is then refused.

    Raises:
        OSError: the file is missing, a link, or not a regular file.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _unpickle(file: IO[bytes]) -> object:
    # Unpickling allocates objects by the thousand (by the million for a large corpus):
    # each allocation burst would start a garbage collection that walks every object in
    # the process (25 ms after importing nltk), though unpickling makes no garbage.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return pickle.load(file)
    finally:
        if enabled:
            gc.enable()


def _trusted(st: os.stat_result) -> bool:
    if not stat.S_ISREG(st.st_mode):
        return False
    if hasattr(os, "getuid"):
        # A file someone else could have written is not unpickled: pickle runs code.
        return st.st_uid == os.getuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    return True


def _sha256(file: IO[bytes]) -> bytes:
    digest = hashlib.sha256()
    while chunk := file.read(_CHUNK):
        digest.update(chunk)
    return digest.digest()


class _HashingWriter:
    """A write-only file that hashes and counts what goes through it."""

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes | memoryview) -> int:
        self.hash.update(data)
        self.size += memoryview(data).nbytes
        return self._file.write(data)


def _store(path: Path, key: bytes, value: object) -> None:
    """Write the cache file atomically; give up silently if it cannot be written."""
    import tempfile

    tmp: str | None = None
    try:
        make_private_dir(path.parent)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".pickle", dir=path.parent)
        with os.fdopen(fd, "wb") as file:
            file.write(bytes(_HEADER.size))
            writer = _HashingWriter(file)
            pickle.dump(value, writer, protocol=pickle.HIGHEST_PROTOCOL)
            file.seek(0)
            file.write(_HEADER.pack(MAGIC, key, writer.size, writer.hash.digest()))
        os.replace(tmp, path)
        tmp = None
        _evict(path.parent)
    except Exception:  # noqa: BLE001 - a cache that cannot be written is no error
        pass
    finally:
        if tmp is not None:
            with suppress(OSError):
                os.unlink(tmp)


def _evict(cache_dir: Path) -> None:
    """Delete all but the MAX_FILES most recently used cache files, and stale temp files."""
    import time

    used: list[tuple[float, Path]] = []
    for file in cache_dir.iterdir():
        with suppress(OSError):
            if file.suffix == ".pickle" and not file.name.startswith(".tmp-"):
                used.append((file.stat().st_mtime, file))
            elif file.name.startswith(".tmp-"):
                if time.time() - file.stat().st_mtime > _STALE_TEMP_SECONDS:
                    file.unlink()
    used.sort(reverse=True)
    for _, file in used[MAX_FILES:]:
        with suppress(OSError):
            file.unlink()
