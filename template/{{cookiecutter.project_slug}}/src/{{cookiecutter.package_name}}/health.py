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

from flask import Blueprint, Flask, current_app

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def readiness_checks() -> dict[str, Callable[[], None]]:
    """Name -> a check that raises when the dependency is unusable."""
    checks: dict[str, Callable[[], None]] = {}
{%- if cookiecutter.database != "none" %}
    checks["database"] = check_database
{%- endif %}
{%- if cookiecutter.task_queue != "none" %}
    checks["broker"] = check_broker
{%- endif %}
    return checks
{%- if cookiecutter.database != "none" %}


def check_database() -> None:
    from sqlalchemy import text

    from .extensions import db

    try:
        db.session.execute(text("SELECT 1"))
    finally:
        db.session.rollback()
{%- endif %}
{%- if cookiecutter.task_queue != "none" %}


def check_broker() -> None:
    from .tasks import ping_broker

    ping_broker(current_app)
{%- endif %}


class Readiness:
    """The app's readiness checks, each run in the app context on a thread of this object's pool."""

    def __init__(self, app: Flask, checks: dict[str, Callable[[], None]]) -> None:
        self.app = app
        self.checks = checks
        self.timeout = float(app.config["READINESS_TIMEOUT"])
        self.running: dict[str, Future[None]] = {}
        self.pool = ThreadPoolExecutor(max_workers=max(len(checks), 1), thread_name_prefix="readyz")

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
    app.extensions["readiness"] = Readiness(app, readiness_checks())
    app.register_blueprint(bp)


@bp.get("/readyz")
def readyz() -> tuple[dict[str, Any], int]:
    results = current_app.extensions["readiness"].run()
    ready = all(status == "ok" for status in results.values())
    return {"status": "ok" if ready else "unavailable", "checks": results}, 200 if ready else 503
