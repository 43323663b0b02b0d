"""Health endpoints for the load balancer and the supervisor.

/healthz: liveness, no I/O; 200 while the process can answer.
/readyz: readiness; checks each dependency and answers 503 when one is down or does not answer
within READINESS_TIMEOUT. Each check runs in a thread of its own, so a hung dependency costs a
probe the timeout, never the thread that serves it; a check still running from an earlier probe
counts as down instead of piling up more threads.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import Dict, String
from apiflask.validators import OneOf
from flask import Flask, current_app

bp = APIBlueprint("health", __name__)
MAX_CHECK_THREADS = 8


class Liveness(Schema):
    status = String(required=True, validate=OneOf(["ok"]))


class ReadinessReport(Schema):
    status = String(required=True, validate=OneOf(["ok", "unavailable"]))
    checks = Dict(keys=String(), values=String(validate=OneOf(["ok", "down"])), required=True)


@bp.get("/healthz")
@bp.output(Liveness, description="The process answers")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


class Readiness:
    """The app's readiness checks, each run in the app context on a thread of this object's pool."""

    def __init__(self, app: Flask, checks: dict[str, Callable[[], None]] | None = None) -> None:
        self.app = app
        self.checks: dict[str, Callable[[], None]] = dict(checks or {})
        self.timeout = float(app.config["READINESS_TIMEOUT"])
        self.running: dict[str, Future[None]] = {}
        # Threads start only when needed; each check has at most one run at a time (see run).
        self.pool = ThreadPoolExecutor(max_workers=MAX_CHECK_THREADS, thread_name_prefix="readyz")

    def _in_context(self, check: Callable[[], None]) -> None:
        with self.app.app_context():
            check()

    def run(self) -> dict[str, str]:
        """Name -> "ok" or "down", in at most `timeout` seconds."""
        results: dict[str, str] = {}
        for name, check in self.checks.items():
            previous = self.running.get(name)
            if previous is not None and not previous.done():
                results[name] = "down"  # still hung since an earlier probe
                continue
            self.running[name] = self.pool.submit(self._in_context, check)
        started = {name: future for name, future in self.running.items() if name not in results}
        wait(started.values(), timeout=self.timeout)
        for name, future in started.items():
            error = future.exception(timeout=0) if future.done() else TimeoutError(f"no answer in {self.timeout}s")
            if error is not None:  # the reason goes to the log, never to the client
                self.app.logger.warning("readiness check %s failed: %s", name, error)
            results[name] = "ok" if error is None else "down"
        return results


def init_app(app: Flask) -> None:
    """/healthz and /readyz; the modules of each dependency add their checks (add_check)."""
    app.extensions["readiness"] = Readiness(app)
    app.register_blueprint(bp)


def add_check(app: Flask, name: str, check: Callable[[], None]) -> None:
    """Make /readyz run check (in the app context) and report name down when it raises."""
    app.extensions["readiness"].checks[name] = check


def not_ready() -> dict[int | str, dict[str, str | dict[str, dict[str, Any]]]]:
    """/readyz's 503 in openapi.json: the same report as its 200 (not apiflask's error body)."""
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/ReadinessReport"}}}
    return {503: {"description": "A dependency is down (see checks)", "content": content}}


@bp.get("/readyz")
@bp.output(ReadinessReport, description="Every dependency answers")
@bp.doc(responses=not_ready())
def readyz() -> tuple[dict[str, Any], int]:
    results = current_app.extensions["readiness"].run()
    ready = all(status == "ok" for status in results.values())
    return {"status": "ok" if ready else "unavailable", "checks": results}, 200 if ready else 503
