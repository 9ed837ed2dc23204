"""`import psoasbot` stays light: no Telegram library, no retrieval engine, no numpy."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ["telegram", "rank_bm25", "nltk", "numpy"]


@pytest.fixture(scope="module")
def loaded_by_import() -> set[str]:
    """The top-level packages a fresh interpreter has loaded after `import psoasbot`."""
    code = (
        "import json, sys; import psoasbot; "
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return set(json.loads(result.stdout))


@pytest.mark.parametrize("module", HEAVY, ids=HEAVY)
def test_import_psoasbot_does_not_load(loaded_by_import: set[str], module: str) -> None:
    assert "psoasbot" in loaded_by_import
    assert module not in loaded_by_import
