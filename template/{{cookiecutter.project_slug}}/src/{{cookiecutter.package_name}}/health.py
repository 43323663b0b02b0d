"""Health endpoints for the load balancer and the supervisor.

/healthz: liveness, no I/O; 200 while the process can answer.
/readyz: readiness; checks each dependency and answers 503 when one is down.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app

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


@bp.get("/readyz")
def readyz() -> tuple[dict[str, Any], int]:
    results: dict[str, str] = {}
    for name, check in readiness_checks().items():
        try:
            check()
        except Exception as err:  # any failure means "not ready"; the reason goes to the log
            current_app.logger.warning("readiness check %s failed: %s", name, err)
            results[name] = "down"
        else:
            results[name] = "ok"
    ready = all(status == "ok" for status in results.values())
    return {"status": "ok" if ready else "unavailable", "checks": results}, 200 if ready else 503
