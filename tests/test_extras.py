"""_extras.py: the command that installs an extra is one a user can run as written.

psoasbot is not on a package index, so the command names what psoasbot was installed from,
as pip recorded it (direct_url.json): a checkout, a wheel file, a URL.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

from psoasbot._extras import command_for, extra_requirements, install_command

ROOT = Path(__file__).resolve().parent.parent
PY = "/srv/bot/.venv/bin/python"
FAST = ["bm25s>=0.2.10"]


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    file = tmp_path / "dist" / "psoasbot-0.1.0-py3-none-any.whl"
    file.parent.mkdir()
    file.write_bytes(b"PK")
    return file


def test_editable_checkout(tmp_path: Path) -> None:
    direct_url = {"url": tmp_path.as_uri(), "dir_info": {"editable": True}}
    assert command_for("fast", PY, direct_url, FAST) == (
        f"{PY} -m pip install -e '{tmp_path}[fast]'"
    )


def test_checkout_installed_without_e(tmp_path: Path) -> None:
    direct_url = {"url": tmp_path.as_uri(), "dir_info": {}}
    assert command_for("telegram", PY, direct_url, []) == (
        f"{PY} -m pip install '{tmp_path}[telegram]'"
    )


def test_wheel_file(wheel: Path) -> None:
    direct_url = {"url": wheel.as_uri(), "archive_info": {"hash": "sha256=00"}}
    assert command_for("fast", PY, direct_url, FAST) == f"{PY} -m pip install '{wheel}[fast]'"


def test_a_deleted_wheel_file_gives_the_extras_own_packages(tmp_path: Path) -> None:
    direct_url = {"url": (tmp_path / "gone.whl").as_uri(), "archive_info": {}}
    assert command_for("fast", PY, direct_url, FAST) == f"{PY} -m pip install 'bm25s>=0.2.10'"


@pytest.mark.parametrize(
    ("direct_url", "target"),
    [
        (
            {"url": "https://example.org/psoasbot-0.1.0-py3-none-any.whl", "archive_info": {}},
            "'psoasbot[fast] @ https://example.org/psoasbot-0.1.0-py3-none-any.whl'",
        ),
        (
            {
                "url": "https://example.org/psoasbot.git",
                "vcs_info": {"vcs": "git", "commit_id": "a4e23ec"},
            },
            "'psoasbot[fast] @ git+https://example.org/psoasbot.git@a4e23ec'",
        ),
    ],
    ids=["wheel-url", "git"],
)
def test_urls(direct_url: dict[str, Any], target: str) -> None:
    assert command_for("fast", PY, direct_url, FAST) == f"{PY} -m pip install {target}"


def test_installed_from_an_index_gives_the_extras_own_packages() -> None:
    telegram = ["python-telegram-bot[rate-limiter,webhooks]<23,>=22.0", "aiohttp>=3.10"]
    assert command_for("telegram", PY, None, telegram) == (
        f"{PY} -m pip install 'python-telegram-bot[rate-limiter,webhooks]<23,>=22.0' "
        "'aiohttp>=3.10'"
    )


def test_a_source_tree_that_is_not_installed(tmp_path: Path) -> None:
    assert command_for("fast", PY, None, [], source_tree=tmp_path) == (
        f"{PY} -m pip install -e '{tmp_path}[fast]'"
    )


def test_paths_and_pythons_with_spaces_are_quoted(tmp_path: Path) -> None:
    checkout = tmp_path / "my checkout"
    checkout.mkdir()
    direct_url = {"url": checkout.as_uri(), "dir_info": {"editable": True}}
    assert command_for("fast", "/opt/my env/bin/python", direct_url, FAST) == (
        f"'/opt/my env/bin/python' -m pip install -e '{checkout}[fast]'"
    )


def test_extra_requirements_picks_one_extra_without_markers() -> None:
    lines = [
        "nltk>=3.8",
        "bm25s>=0.2.10; extra == 'fast'",
        'aiohttp>=3.10; extra == "telegram"',
        "pytest>=8; extra == 'test'",
    ]
    assert extra_requirements(lines, "fast") == ["bm25s>=0.2.10"]
    assert extra_requirements(lines, "telegram") == ["aiohttp>=3.10"]


def test_this_checkout_gets_its_own_path() -> None:
    # The test suite runs from an editable install of this checkout (README, .ci/run).
    assert install_command("fast") == (
        f"{shlex.quote(sys.executable)} -m pip install -e {shlex.quote(f'{ROOT}[fast]')}"
    )
