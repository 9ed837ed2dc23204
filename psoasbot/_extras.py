"""The command that installs an extra (`telegram`, `fast`) where this psoasbot is installed.

psoasbot is not on a package index, so the extra cannot be asked of one by name: a hint
must name what psoasbot was installed from. pip records that in the installed metadata
(direct_url.json, PEP 610): a checkout, editable or not, or a wheel or sdist, as a file or
a URL. The command runs this Python's pip, so the extra lands where psoasbot runs.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

DISTRIBUTION = "psoasbot"


def install_command(extra: str) -> str:
    """Return a shell command, to run as written, that installs `extra` for this psoasbot."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution(DISTRIBUTION)
    except PackageNotFoundError:  # run from a source tree without being installed
        direct_url, requirements = None, []
    else:
        text = dist.read_text("direct_url.json")
        try:
            direct_url = json.loads(text) if text else None
        except ValueError:
            direct_url = None
        requirements = list(dist.requires or [])
    source_tree = Path(__file__).resolve().parent.parent
    return command_for(
        extra,
        sys.executable,
        direct_url,
        extra_requirements(requirements, extra),
        source_tree if (source_tree / "pyproject.toml").is_file() else None,
    )


def command_for(
    extra: str,
    python: str,
    direct_url: Mapping[str, Any] | None,
    requirements: Sequence[str],
    source_tree: Path | None = None,
) -> str:
    """Return the pip command that installs `extra`, given how psoasbot was installed.

    Args:
        extra: the extra's name.
        python: the Python that runs psoasbot (its pip installs the extra).
        direct_url: the installed distribution's direct_url.json, None if it has none.
        requirements: the extra's own requirements, from the installed metadata.
        source_tree: the checkout psoasbot runs from, if it is one.
    """
    pip = f"{shlex.quote(python)} -m pip install"
    url = str((direct_url or {}).get("url", ""))
    if url:
        parts = urlsplit(url)
        if parts.scheme == "file":
            path = url2pathname(parts.path)
            if Path(path).exists():
                editable = bool((direct_url or {}).get("dir_info", {}).get("editable"))
                target = shlex.quote(f"{path}[{extra}]")
                return f"{pip} -e {target}" if editable else f"{pip} {target}"
        else:
            vcs = (direct_url or {}).get("vcs_info")
            if isinstance(vcs, Mapping):
                url = f"{vcs.get('vcs', 'git')}+{url}@{vcs.get('commit_id', '')}".rstrip("@")
            return f"{pip} {shlex.quote(f'{DISTRIBUTION}[{extra}] @ {url}')}"
    # Installed from an index, or from a file since deleted: the extra's own packages.
    if requirements:
        return f"{pip} " + " ".join(shlex.quote(r) for r in requirements)
    if source_tree is not None:
        return f"{pip} -e {shlex.quote(f'{source_tree}[{extra}]')}"
    return f"{pip} {shlex.quote(f'{DISTRIBUTION}[{extra}]')}"


def extra_requirements(requirements: Sequence[str], extra: str) -> list[str]:
    """Pick the requirements of one extra from Requires-Dist lines, without their markers."""
    picked = []
    for line in requirements:
        requirement, _, marker = line.partition(";")
        if f"extra == '{extra}'" in marker or f'extra == "{extra}"' in marker:
            picked.append(requirement.strip())
    return picked
