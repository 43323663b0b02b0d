"""Slow work off the request path.

POST /exports enqueues the export job and answers 202 with the job id at once; a worker process
(the project's `-worker` command) runs it; GET /exports/<id> reports its status. The queue is the
project's queue module (Celery or RQ, on Redis).
"""

from __future__ import annotations

import time
from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import Dict, Integer, String
from apiflask.validators import OneOf, Range
from flask import Flask, abort, current_app, url_for
from marshmallow import pre_load

{% if cookiecutter.auth == "oidc" %}from .auth import require_auth
{% endif %}from .errors import handle_unavailable
from .queue_{{ cookiecutter.task_queue }} import BROKER_ERRORS, enqueue_export, export_status

bp = APIBlueprint("exports", __name__, url_prefix="/exports")

DEFAULT_ROWS = 1_000
MAX_ROWS = 100_000
UNAVAILABLE = "The task queue's broker is unavailable"


class ExportIn(Schema):
    rows = Integer(strict=True, load_default=DEFAULT_ROWS, validate=Range(min=1, max=MAX_ROWS))

    @pre_load
    def whole_rows(self, data: Any, **kwargs: Any) -> Any:
        """JSON Schema's integer includes 2061.0 (the contract's clients may send it); strict
        Integer refuses floats, and a loose one would take "2061" and cut 7.5 down to 7."""
        rows = data.get("rows") if isinstance(data, dict) else None
        return {**data, "rows": int(rows)} if isinstance(rows, float) and rows.is_integer() else data


class ExportOut(Schema):
    id = String(required=True)
    status = String(required=True, validate=OneOf(["queued", "started", "finished", "failed"]))
    status_url = String(metadata={"description": "Where to poll (on 202)"})
    result = Dict(metadata={"description": "The export's result, once finished"})
    error = String(metadata={"description": "Why it failed (details stay in the worker log)"})


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.before_request
def fail_fast() -> None:
    """While the broker failed moments ago, 503 at once instead of each request waiting out
    REDIS_TIMEOUT again (a frozen Redis would otherwise hold every request thread in turn)."""
    if time.monotonic() < current_app.extensions.get("broker_down_until", 0.0):
        abort(503, description="the task queue's broker failed moments ago; retry later")


def broker_failed(error: Exception) -> tuple[dict[str, Any], int, dict[str, str]]:
    """A 503 (errors.handle_unavailable), and the next BROKER_FAIL_FAST_SECONDS fail fast."""
    current_app.extensions["broker_down_until"] = time.monotonic() + current_app.config["BROKER_FAIL_FAST_SECONDS"]
    return handle_unavailable(error)


for _error in BROKER_ERRORS:
    bp.register_error_handler(_error, broker_failed)


@bp.post("")
{%- if cookiecutter.auth == "oidc" %}
@require_auth("exports:write")  # outermost: a request without a valid token is a 401 before validation
{%- endif %}
@bp.input(ExportIn, location="json")
@bp.output(ExportOut, status_code=202, headers={"Location": String(metadata={"description": "The job's status URL"})})
{%- if cookiecutter.auth == "oidc" %}
@bp.doc(
    security="bearer",
    responses={
        202: "The export was queued",
        400: "The body is not JSON",
        401: "No valid bearer token",
        403: "The token lacks the exports:write scope",
        503: UNAVAILABLE,
    },
)
{%- else %}
@bp.doc(responses={202: "The export was queued", 400: "The body is not JSON", 503: UNAVAILABLE})
{%- endif %}
def start_export(json_data: dict[str, int]) -> tuple[dict[str, Any], int, dict[str, str]]:
    job_id = enqueue_export(json_data["rows"])
    location = url_for("exports.get_export", job_id=job_id)
    return {"id": job_id, "status": "queued", "status_url": location}, 202, {"Location": location}


@bp.get("/<job_id>")
@bp.output(ExportOut)
@bp.doc(responses={200: "The job's status", 404: "No such job (or it expired)", 503: UNAVAILABLE})
def get_export(job_id: str) -> dict[str, Any]:
    return export_status(job_id)
