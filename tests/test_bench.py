"""Smoke test of the benchmark harness: every benchmark runs at --quick size and prints its table.
Its numbers are too small to report (those in bench/README.md come from full runs): it keeps the harness
working, and checks the comparisons that hold at any size (the proxy keeps the Slowloris probe at 100%;
baseline rounds serve with no errors)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from flaskgen.testing import nginx_binary, tool_env
from tests.helpers import REPO, redis_available, require

TITLES = ["1. Slowloris", "2. Slow bodies", "3. Worker crash", "4. Logging", "5. A 0.5 s export",
          "6. Sync worker count", "7. Overhead", "8. Generation", "9. Fleet status", "11. Where a request",
          "12. Worker recycling"]  # fmt: skip


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


def test_request_parts_counts_each_sample_for_its_innermost_part() -> None:
    """bench/run.py request-parts: py-spy's raw stacks (outermost frame first) sorted into parts."""
    sys.path.insert(0, str(REPO / "bench"))
    try:
        from run import _request_parts
    finally:
        sys.path.remove(str(REPO / "bench"))

    handle = ["Thread.run (threading.py:1)", "ThreadWorker.handle (gunicorn/workers/gthread.py:1)",
              "ThreadWorker.handle_request (gunicorn/workers/gthread.py:771)"]  # fmt: skip
    timer = [*handle, "FromProxy.__call__ (bench_service/proxy.py:44)"]  # the outermost middleware
    app = [*timer, "Flask.__call__ (flask/app.py:1)"]
    samples = [
        ([*app, "APIScaffold._jsonify (apiflask/scaffold.py:1)", "dumps (json/encoder.py:1)"], 3),
        (
            [
                *app,
                "Response.__call__ (werkzeug/wrappers/response.py:1)",
                "send_request_id (bench_service/__init__.py:1)",
                "Response.start_response (gunicorn/http/wsgi.py:1)",
            ],
            2,
        ),
        ([*handle[:2], "MmapedValue.inc (prometheus_client/values.py:1)"], 99),  # not under handle_request
        (timer, 5),
        ([*timer, "helper (somewhere/else.py:1)"], 1),  # the middleware is the innermost part
        ([*app, "helper (somewhere/else.py:1)"], 4),  # Flask is
        ([*app, "Flask.full_dispatch_request (flask/app.py:2)"], 7),
        ([*handle, "Logger.access (gunicorn/glogging.py:1)"], 11),
        ([*handle, "Response.write (gunicorn/http/wsgi.py:1)"], 13),
    ]
    assert _request_parts(samples) == {
        "APIFlask contract (output schema, marshmallow)": 3,
        "Gunicorn, called by the app (start_response, headers)": 2,
        "Gunicorn: accept, parse, write, worker loop": 99 + 13,
        "proxy headers (template proxy.py, werkzeug ProxyFix)": 5 + 1,
        "Flask + Werkzeug (routing, contexts, response)": 4 + 7,
        "Gunicorn: access log line": 11,
    }


def test_set_needs_key_and_value() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "overhead", "--set", "metrics"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--set takes KEY=VALUE, e.g. --set metrics=none" in result.stderr
