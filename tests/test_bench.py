"""Smoke test of the benchmark harness: every benchmark runs at --quick size and prints its table.
It measures nothing (the numbers are in bench/README.md from full runs); it keeps the harness working."""

from __future__ import annotations

import subprocess
import sys

import pytest

from flaskgen.testing import nginx_binary, tool_env
from tests.helpers import REPO, redis_available, require

TITLES = ["1. Slowloris", "2. Slow bodies", "3. Worker crash", "4. Logging", "5. A 0.5 s export",
          "6. Sync worker count", "7. Overhead", "8. Generation", "9. Fleet status"]  # fmt: skip


@pytest.mark.live
def test_every_benchmark_runs_quick() -> None:
    require(nginx_binary() is not None, "nginx is not installed (apt-get install nginx)")
    require(redis_available(), "Redis is not running on 127.0.0.1:6379 (the task-queue benchmark needs it)")
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--quick"],
        capture_output=True, text=True, timeout=900, env=tool_env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    for title in TITLES:
        assert f"### {title}" in result.stdout, title
    # The headline comparisons hold even at this size: the proxy keeps the probe alive.
    slowloris = result.stdout.split("### 1. Slowloris")[1].split("###")[0]
    assert "| Nginx -> Gunicorn (generated) | 100% |" in slowloris


@pytest.mark.live
def test_overhead_serves_a_baseline_template_in_the_same_rounds() -> None:
    """`overhead --baseline REF` bakes the template at REF too and reports it against the bare app."""
    require(nginx_binary() is not None, "nginx is not installed (apt-get install nginx)")
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "overhead", "--quick", "--baseline", "HEAD"],
        capture_output=True, text=True, timeout=600, env=tool_env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| generated app /healthz")]
    assert [row.split(" | ")[0] for row in rows] == [
        "| generated app /healthz",
        "| generated app /healthz, template at HEAD",
    ], result.stdout
    assert all(row.endswith(" | 0 |") for row in rows), rows  # no errors
