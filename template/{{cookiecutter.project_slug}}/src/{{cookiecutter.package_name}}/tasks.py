{%- set celery = cookiecutter.task_queue == "celery" -%}
"""Slow work off the request path.

POST /exports enqueues the export job and answers 202 with the job id at once; a worker
process ({{ cookiecutter.project_slug }}-worker) runs it; GET /exports/<id> reports its status.
{%- if celery %}
The queue is Celery with a Redis broker, wired with the Flask docs' `celery_init_app` pattern.
{%- else %}
The queue is RQ on Redis.
{%- endif %}
"""

from __future__ import annotations

import csv
import hashlib
import io
{%- if celery %}
import uuid
{%- endif %}
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

{% if celery -%}
from celery import Celery, Task, shared_task, states
from flask import Blueprint, Flask, abort, current_app, request, url_for
{%- else -%}
from flask import Blueprint, Flask, abort, current_app, request, url_for
from redis import Redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
{%- endif %}

bp = Blueprint("exports", __name__, url_prefix="/exports")

DEFAULT_ROWS = 1_000
MAX_ROWS = 100_000
{%- if celery %}
# Read-only: module-level state must not be mutable.
STATUS_NAMES: Mapping[str, str] = MappingProxyType(
    {"PENDING": "queued", "RECEIVED": "queued", "STARTED": "started", "RETRY": "queued",
     "SUCCESS": "finished", "FAILURE": "failed", "REVOKED": "failed"}
)  # fmt: skip
{%- else %}
# Read-only: module-level state must not be mutable.
STATUS_NAMES: Mapping[JobStatus, str] = MappingProxyType(
    {JobStatus.QUEUED: "queued", JobStatus.DEFERRED: "queued", JobStatus.SCHEDULED: "queued",
     JobStatus.STARTED: "started", JobStatus.FINISHED: "finished", JobStatus.FAILED: "failed",
     JobStatus.STOPPED: "failed", JobStatus.CANCELED: "failed"}
)  # fmt: skip
{%- endif %}


def build_export(rows: int) -> dict[str, Any]:
    """The slow job itself: a CSV export{% if cookiecutter.database != "none" %} of the items (at most rows){% else %} report of rows lines, each with a digest{% endif %}."""
    out = io.StringIO()
    writer = csv.writer(out)
{%- if cookiecutter.database != "none" %}
    from sqlalchemy import select

    from .extensions import db
    from .models import Item

    writer.writerow(["id", "name", "created_at"])
    items = db.session.scalars(select(Item).order_by(Item.id).limit(rows))
    count = 0
    for item in items:
        writer.writerow([item.id, item.name, item.created_at.isoformat()])
        count += 1
{%- else %}
    writer.writerow(["n", "sha256"])
    for n in range(rows):
        writer.writerow([n, hashlib.sha256(str(n).encode()).hexdigest()])
    count = rows
{%- endif %}
    text = out.getvalue()
    return {"rows": count, "bytes": len(text), "sha256": hashlib.sha256(text.encode()).hexdigest(), "csv": text}
{%- if celery %}


@shared_task(ignore_result=False, name="{{ cookiecutter.package_name }}.export")
def export_task(rows: int) -> dict[str, Any]:
    return build_export(rows)


# One quick retry of a failed call to Redis, then the error (answered 503).
REDIS_RETRY_POLICY: Mapping[str, float] = MappingProxyType(
    {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
)


def celery_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """Celery settings from the app config. CELERY_EAGER (tests without Redis) runs tasks
    in-process and keeps results in memory, so the enqueue path still runs end to end."""
    if config["CELERY_EAGER"]:
        return {
            "broker_url": "memory://",
            "result_backend": "cache+memory://",
            "task_always_eager": True,
            "task_store_eager_result": True,
            "task_eager_propagates": True,
        }
    return {
        "broker_url": config["REDIS_URL"],
        "result_backend": config["REDIS_URL"],
        "task_default_queue": config["TASK_QUEUE_NAME"],
        "result_expires": 24 * 3600,
        "task_acks_late": True,
        "worker_prefetch_multiplier": 1,
        "broker_connection_retry_on_startup": True,
        # Bounded calls to Redis: with Redis down, POST /exports fails in seconds (503), not
        # after Celery's default retries (about 20 s).
        "broker_connection_timeout": 2,
        "broker_transport_options": {"socket_connect_timeout": 2, "socket_timeout": 5},
        "task_publish_retry_policy": REDIS_RETRY_POLICY,
        "redis_socket_connect_timeout": 2,
        "redis_socket_timeout": 5,
        "result_backend_transport_options": {"retry_policy": REDIS_RETRY_POLICY},
    }


def init_task_queue(app: Flask) -> Celery[Any]:
    """The Flask docs' celery_init_app: tasks run inside this app's context."""

    class FlaskTask(Task[Any, Any]):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app: Celery[Any] = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(celery_settings(app.config))
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


def ping_broker(app: Flask) -> None:
    """Raise unless the broker accepts a connection (used by /readyz)."""
    celery_app: Celery[Any] = app.extensions["celery"]
    with celery_app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=2)


def enqueue_export(rows: int) -> str:
    """Record the job, then send it. Celery says PENDING for any id it never saw; the record is
    how GET /exports/<id> tells a queued job from an unknown id (404)."""
    job_id = str(uuid.uuid4())
    export_task.backend.store_result(job_id, None, states.PENDING)
    export_task.apply_async((rows,), task_id=job_id)
    return job_id


def export_status(job_id: str) -> dict[str, Any]:
    backend = current_app.extensions["celery"].backend
    meta = backend.get_task_meta(job_id) if is_job_id(job_id) else {}
    if "task_id" not in meta:  # never enqueued here, or expired
        abort(404, description=f"no export job with id {job_id}")
    status = STATUS_NAMES.get(meta["status"], "queued")
    body: dict[str, Any] = {"id": job_id, "status": status}
    if status == "finished":
        body["result"] = meta["result"]
    elif status == "failed":  # the worker's exception may hold SQL or data: it stays in the worker log
        body["error"] = "the export failed; see the worker log"
    return body


def is_job_id(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False
{%- else %}


def run_export(rows: int) -> dict[str, Any]:
    """The RQ job (the worker runs it inside an app context, see worker.py)."""
    return build_export(rows)


def init_task_queue(app: Flask) -> None:
    """One Redis client (a connection pool) per app; connect and read timeouts keep a dead
    Redis from hanging a request."""
    app.extensions["redis"] = Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5)


def get_queue(app: Flask) -> Queue:
    return Queue(app.config["TASK_QUEUE_NAME"], connection=app.extensions["redis"], is_async=app.config["RQ_ASYNC"])


def ping_broker(app: Flask) -> None:
    """Raise unless Redis answers (used by /readyz)."""
    app.extensions["redis"].ping()


def enqueue_export(rows: int) -> str:
    queue = get_queue(current_app)
    job = queue.enqueue(run_export, rows, job_timeout=current_app.config["EXPORT_JOB_TIMEOUT"], result_ttl=24 * 3600)
    return str(job.id)


def export_status(job_id: str) -> dict[str, Any]:
    try:
        job = Job.fetch(job_id, connection=current_app.extensions["redis"])
    except NoSuchJobError:
        abort(404, description=f"no export job with id {job_id}")
    status = STATUS_NAMES.get(job.get_status(refresh=True), "queued")
    body: dict[str, Any] = {"id": job_id, "status": status}
    if status == "finished":
        body["result"] = job.return_value()
    elif status == "failed":
        body["error"] = "the export failed; see the worker log"
    return body
{%- endif %}


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
