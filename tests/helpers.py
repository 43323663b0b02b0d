"""Helpers shared by flaskgen's tests (fixtures and pytest hooks live in conftest.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from flaskgen.testing import port_open

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "template"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(available: bool, reason: str) -> None:
    """Skip with a visible reason when something external is missing; fail under CI."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a missing dependency is a failure, not a skip)")
    pytest.skip(reason)


def postgres_available() -> bool:
    return port_open(5432) and shutil.which("psql") is not None


def redis_available() -> bool:
    return port_open(6379)


def find_python(version: str) -> str | None:
    """An interpreter for version X.Y: pythonX.Y on PATH if it runs, else a pyenv build."""
    candidates = []
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append(on_path)
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted(str(p) for p in pyenv_root.glob(f"versions/{version}.*/bin/python{version}"))
    for candidate in candidates:
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    return None


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Write files (relative path -> text) under root; return root."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
