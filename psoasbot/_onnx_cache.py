"""The sentence-embedding model as onnxruntime optimises it, kept in the cache folder.

onnxruntime optimises the int8 model at every start (it folds the int8 weights into
float ones): 0.3 s and 160 MB. Saved once, optimised, with its weights in a file of their
own, it loads in 0.1 s with 50 MB less, since onnxruntime maps the weights file instead of
copying it, and gives the same vectors to the last bit (tests/test_semantic.py).

Three files: the graph (`minilm-<token>.onnx`), its weights (`minilm-<token>.data`, a
name the graph holds) and `minilm-model.json`, written last, which names them with their
sizes and SHA-256 and what they were made from. They are used only if all of that still
holds and no one else could have written them; otherwise they are made again.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import secrets
import stat
import time
from contextlib import suppress
from pathlib import Path

PREFIX = "minilm-"
MANIFEST = f"{PREFIX}model.json"
# Files no manifest names (an older runtime's, a write that failed, a process that died)
# are deleted after this long: long enough for another process's write to finish.
_STALE_SECONDS = 600


def find(cache_dir: Path, source: str) -> Path | None:
    """Return the optimised graph made from `source`, checked, or None."""
    try:
        manifest = json.loads((cache_dir / MANIFEST).read_text("utf-8"))
        if not _trusted(cache_dir / MANIFEST) or manifest.get("source") != source:
            return None
        for name in (manifest["graph"], manifest["data"]):
            file = cache_dir / name
            if not (name.startswith(PREFIX) and "/" not in name and _trusted(file)):
                return None
            if file.stat().st_size != manifest["sizes"][name]:
                return None
            if _sha256_of(file) != manifest["sha256"][name]:
                return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return cache_dir / manifest["graph"]


def plan(cache_dir: Path) -> tuple[Path, str] | None:
    """Return where to write a new graph and the name of its weights file, or None when
    the folder cannot be made."""
    try:
        cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return None
    token = secrets.token_hex(8)
    return cache_dir / f"{PREFIX}{token}.onnx", f"{PREFIX}{token}.data"


def keep(cache_dir: Path, source: str, graph: Path, data: str) -> None:
    """Record a graph and its weights file just written; delete older ones. Quietly gives
    up (the files are then deleted) if that fails."""
    files = [graph, cache_dir / data]
    try:
        for file in files:
            os.chmod(file, 0o600)
        manifest = {
            "source": source,
            "graph": graph.name,
            "data": data,
            "sizes": {f.name: f.stat().st_size for f in files},
            "sha256": {f.name: _sha256_of(f) for f in files},
        }
        temporary = cache_dir / f".tmp-{graph.stem}.json"
        temporary.write_text(json.dumps(manifest), "utf-8")
        os.chmod(temporary, 0o600)
        os.replace(temporary, cache_dir / MANIFEST)
    except OSError:
        for file in files:
            with suppress(OSError):
                file.unlink()
        return
    for old in cache_dir.glob(f"{PREFIX}*"):
        if old.name not in (MANIFEST, graph.name, data):
            with suppress(OSError):
                if time.time() - old.stat().st_mtime > _STALE_SECONDS:
                    old.unlink()


def _trusted(path: Path) -> bool:
    # As the index cache: a regular file of ours that no one else can write.
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        return False
    if hasattr(os, "getuid"):
        return st.st_uid == os.getuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    return True


def _sha256_of(path: Path) -> str:
    # Mapped, not read: no copy of its 90 MB, and hashlib lets go of the GIL meanwhile.
    with open(path, "rb") as file:
        if os.fstat(file.fileno()).st_size == 0:
            return hashlib.sha256().hexdigest()
        with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return hashlib.sha256(data).hexdigest()
