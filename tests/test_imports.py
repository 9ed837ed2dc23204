"""The package's shape: what `import psoasbot` loads, imports that point one way, small modules.

`import psoasbot` stays light: no Telegram library, no retrieval engine, no numpy. And
every import inside psoasbot points down the layers of docs/architecture.md: front-ends ->
answer -> scope/retrieval/triage/pipeline -> query/semantic -> spelling/vocabulary/cache
-> index/lexicon -> analysis -> corpus/models/errors. The semantic module, and the
libraries it loads (numpy, onnxruntime, tokenizers), load only when semantic matching is.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import psoasbot

HEAVY = ["telegram", "rank_bm25", "nltk", "numpy", "onnxruntime", "tokenizers"]

PACKAGE = Path(psoasbot.__file__).resolve().parent

# Every psoasbot module `import psoasbot` loads; the engines, the front-ends and the
# Telegram bot are loaded only by what uses them.
LOADED_BY_IMPORT = {
    "psoasbot",
    "psoasbot._ranking",
    "psoasbot._red_flag_file",
    "psoasbot.analysis",
    "psoasbot.answer",
    "psoasbot.cache",
    "psoasbot.chunking",
    "psoasbot.corpus",
    "psoasbot.english",
    "psoasbot.errors",
    "psoasbot.index",
    "psoasbot.lexicon",
    "psoasbot.models",
    "psoasbot.pipeline",
    "psoasbot.query",
    "psoasbot.retrieval",
    "psoasbot.scope",
    "psoasbot.spelling",
    "psoasbot.triage",
    "psoasbot.vocabulary",
}
# Packages from outside the standard library that `import psoasbot` loads: none.
THIRD_PARTY_LOADED_BY_IMPORT: set[str] = set()

# Top first. A module may import only modules of the layers below its own ("__init__" is
# `psoasbot` itself, "telegram_bot" the package's __init__.py).
LAYERS: list[set[str]] = [
    {"__main__"},
    {"cli"},
    {"telegram_bot"},
    {"telegram_bot.app"},
    {"telegram_bot.polling", "telegram_bot.webhook", "telegram_bot.handlers"},
    {"telegram_bot.dispatch"},
    {"telegram_bot.delivery", "telegram_bot.journal"},
    {
        "telegram_bot.config",
        "telegram_bot.limit",
        "telegram_bot._logging",
        "telegram_bot._transport",
    },
    {"telegram_html", "evaluation", "chat", "telegram_command"},
    {"render", "progress"},
    {"__init__"},
    {"answer"},
    {"scope", "retrieval", "triage", "pipeline"},
    {"query", "semantic"},
    {"spelling", "vocabulary", "cache"},
    {"index", "lexicon", "_red_flag_file"},
    {"_bm25s_engine", "_ranking", "_onnx_cache", "analysis", "chunking", "english", "corpus_check"},
    {"corpus"},
    {"models", "errors", "_extras", "_argtypes"},
]
LAYER_OF = {module: n for n, layer in enumerate(LAYERS) for module in layer}
MAX_LINES = 500


@pytest.fixture(scope="module")
def loaded_by_import() -> set[str]:
    """The modules a fresh interpreter loads for `import psoasbot`, and only for it."""
    code = (
        "import json, sys; before = set(sys.modules); import psoasbot; "
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return set(json.loads(result.stdout))


@pytest.mark.parametrize("module", HEAVY, ids=HEAVY)
def test_import_psoasbot_does_not_load(loaded_by_import: set[str], module: str) -> None:
    assert "psoasbot" in loaded_by_import
    assert module not in loaded_by_import


def test_import_psoasbot_loads_only_the_allowed_modules(loaded_by_import: set[str]) -> None:
    ours = {m for m in loaded_by_import if m == "psoasbot" or m.startswith("psoasbot.")}
    others = {m.split(".")[0] for m in loaded_by_import} - set(sys.stdlib_module_names)
    assert ours == LOADED_BY_IMPORT
    assert others - {"psoasbot"} == THIRD_PARTY_LOADED_BY_IMPORT


def module_name(file: Path) -> str:
    """psoasbot/cli.py -> "cli", psoasbot/telegram_bot/__init__.py -> "telegram_bot"."""
    parts = list(file.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


MODULES = sorted(module_name(f) for f in PACKAGE.rglob("*.py") if "_corpus" not in f.parts)


def is_module(name: str) -> bool:
    path = PACKAGE.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def source_file(name: str) -> Path:
    path = PACKAGE.joinpath(*name.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def imported_names(name: str) -> set[str]:
    """Every module a module imports, wherever the import is (in functions too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source_file(name).read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{name}: use absolute imports"
            if node.module == "psoasbot":  # `from psoasbot import x`: a module or a name
                found.update(f"psoasbot.{alias.name}" for alias in node.names)
            else:
                found.add(node.module or "")
    return found


def psoasbot_imports(name: str) -> set[str]:
    """The psoasbot modules a module imports, by layer name ("__init__" for psoasbot)."""
    found: set[str] = set()
    for imported in imported_names(name):
        if imported == "psoasbot":
            found.add("__init__")
        elif imported.startswith("psoasbot."):
            sub = imported.removeprefix("psoasbot.")
            found.add(sub if is_module(sub) else "__init__")
    return found


def test_every_module_has_a_layer() -> None:
    assert set(MODULES) == set(LAYER_OF)


@pytest.mark.parametrize("module", MODULES, ids=MODULES)
def test_imports_point_down_the_layers(module: str) -> None:
    upward = {
        imported
        for imported in psoasbot_imports(module)
        if imported != module and LAYER_OF[imported] <= LAYER_OF[module]
    }
    assert upward == set(), f"{module} imports modules of its own layer or above"


@pytest.mark.parametrize("module", MODULES, ids=MODULES)
def test_no_module_is_over_the_line_limit(module: str) -> None:
    lines = len(source_file(module).read_text("utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines; split it along its jobs"


def test_only_the_telegram_bot_package_imports_telegram_and_only_its_public_api() -> None:
    imports = {module: imported_names(module) for module in MODULES}
    importers = {
        module
        for module, names in imports.items()
        if any(n == "telegram" or n.startswith("telegram.") for n in names)
    }
    # A private module of python-telegram-bot (telegram._utils) changes without notice.
    private = {m for m, names in imports.items() if any(n.startswith("telegram._") for n in names)}
    assert {module.split(".")[0] for module in importers} == {"telegram_bot"}
    assert private == set()
