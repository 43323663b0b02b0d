"""Slow work off the request path.

POST /exports enqueues the export job and answers 202 with the job id at once; a worker
process ({{ cookiecutter.project_slug }}-worker) runs it; GET /exports/<id> reports its status.
The queue is {{ cookiecutter.task_queue }} on Redis (queue_{{ cookiecutter.task_queue }}.py).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, request, url_for

from .queue_{{ cookiecutter.task_queue }} import enqueue_export, export_status

bp = Blueprint("exports", __name__, url_prefix="/exports")

DEFAULT_ROWS = 1_000
MAX_ROWS = 100_000


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.post("")
def start_export() -> tuple[dict[str, Any], int, dict[str, str]]:
    payload = request.get_json(silent=True) or {}
    rows = payload.get("rows", DEFAULT_ROWS) if isinstance(payload, dict) else None
    if not isinstance(rows, int) or isinstance(rows, bool) or not 1 <= rows <= MAX_ROWS:
        abort(400, description=f"'rows' must be an integer from 1 to {MAX_ROWS}")
    job_id = enqueue_export(rows)
    location = url_for("exports.get_export", job_id=job_id)
    return {"id": job_id, "status": "queued", "status_url": location}, 202, {"Location": location}


@bp.get("/<job_id>")
def get_export(job_id: str) -> dict[str, Any]:
    return export_status(job_id)
