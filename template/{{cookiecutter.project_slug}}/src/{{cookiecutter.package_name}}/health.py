"""Health endpoints for the load balancer and the supervisor.

/healthz: liveness, no I/O; 200 while the process can answer.
/readyz: readiness; runs each dependency's check in the request and answers 503 when one fails.
Every check is bounded by its client's own timeouts (the database's and Redis's, config.py), so
a probe never waits longer than those, and overlapping probes each run their own checks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import Dict, String
from apiflask.validators import OneOf
from flask import Flask, current_app

bp = APIBlueprint("health", __name__)


class Liveness(Schema):
    status = String(required=True, validate=OneOf(["ok"]))


class ReadinessReport(Schema):
    status = String(required=True, validate=OneOf(["ok", "unavailable"]))
    checks = Dict(keys=String(), values=String(validate=OneOf(["ok", "down"])), required=True)


@bp.get("/healthz")
@bp.output(Liveness, description="The process answers")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def init_app(app: Flask) -> None:
    """/healthz and /readyz; the modules of each dependency add their checks (add_check)."""
    app.extensions["readiness"] = {}
    app.register_blueprint(bp)


def add_check(app: Flask, name: str, check: Callable[[], None]) -> None:
    """Make /readyz run check and report name down when it raises."""
    app.extensions["readiness"][name] = check


def not_ready() -> dict[int | str, dict[str, str | dict[str, dict[str, Any]]]]:
    """/readyz's 503 in openapi.json: the same report as its 200 (not apiflask's error body)."""
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/ReadinessReport"}}}
    return {503: {"description": "A dependency is down (see checks)", "content": content}}


@bp.get("/readyz")
@bp.output(ReadinessReport, description="Every dependency answers")
@bp.doc(responses=not_ready())
def readyz() -> tuple[dict[str, Any], int]:
    results = {}
    for name, check in current_app.extensions["readiness"].items():
        try:
            check()
            results[name] = "ok"
        except Exception as error:  # any failure means not ready; the reason goes to the log only
            current_app.logger.warning("readiness check %s failed: %s", name, error)
            results[name] = "down"
    ready = all(status == "ok" for status in results.values())
    return {"status": "ok" if ready else "unavailable", "checks": results}, 200 if ready else 503
