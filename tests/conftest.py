"""Shared fixtures and options for flaskgen's test suite.

- `--variants=pairwise|full` picks the variant matrix tier (tests/test_variants.py).
- Services (PostgreSQL, Redis), interpreters and Nginx are real. When one is missing, a test
  skips with the reason printed, except under CI (CI=true) where the same absence fails.
- At the end, a table lists each baked variant with its time and result.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.processes import port_open

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "template"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--variants",
        choices=("pairwise", "full"),
        default="pairwise",
        help="variant matrix tier: pairwise (default) or the full behavioural product",
    )


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


def nginx_binary() -> str | None:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


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


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One row per baked variant: id, seconds, result (collected from every xdist worker)."""
    rows = []
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            props = dict(getattr(report, "user_properties", []))
            if "variant_seconds" in props and getattr(report, "when", "call") in ("call", "setup"):
                rows.append((props["variant"], props["variant_seconds"], outcome))
    if not rows:
        return
    terminalreporter.write_sep("=", f"variant matrix: {len(rows)} variants")
    width = max(len(row[0]) for row in rows)
    for variant, seconds, outcome in sorted(rows):
        terminalreporter.write_line(f"{variant:<{width}}  {seconds:7.1f}s  {outcome}")
    total = sum(row[1] for row in rows)
    terminalreporter.write_line(f"{'total (sum of variant times)':<{width}}  {total:7.1f}s")
