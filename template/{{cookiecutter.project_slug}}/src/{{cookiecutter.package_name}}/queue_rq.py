"""The task queue: RQ on Redis.

The same interface as every queue module of this template: `init_app`, `ping`,
`enqueue_export`, `export_status` and `run_worker`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from flask import Flask, abort, current_app
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry
from rq import Queue, Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from . import errors, health
from .tasks import build_export

# Read-only: module-level state must not be mutable.
STATUS_NAMES: Mapping[JobStatus, str] = MappingProxyType(
    {JobStatus.QUEUED: "queued", JobStatus.DEFERRED: "queued", JobStatus.SCHEDULED: "queued",
     JobStatus.STARTED: "started", JobStatus.FINISHED: "finished", JobStatus.FAILED: "failed",
     JobStatus.STOPPED: "failed", JobStatus.CANCELED: "failed"}
)  # fmt: skip


BROKER_ERRORS = (RedisConnectionError, RedisTimeoutError)


def run_export(rows: int) -> dict[str, Any]:
    """The RQ job (the worker runs it inside an app context, see run_worker)."""
    return build_export(rows)


def init_app(app: Flask) -> None:
    """One Redis client (a connection pool) per app; connect and read timeouts (REDIS_TIMEOUT)
    keep a dead or frozen Redis from holding a request (the worker raises its own read timeout
    above its blocking wait). Redis down is a 503 (errors.handle_unavailable), and /readyz
    checks it."""
    timeout = app.config["REDIS_TIMEOUT"]
    # One quick retry after a broken connection (Redis restarted), none after a timeout.
    retry = Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))
    app.extensions["redis"] = Redis.from_url(
        app.config["REDIS_URL"], socket_connect_timeout=timeout, socket_timeout=timeout, retry=retry
    )
    for error in BROKER_ERRORS:
        app.register_error_handler(error, errors.handle_unavailable)
    health.add_check(app, "broker", ping)


def get_queue(app: Flask) -> Queue:
    return Queue(app.config["TASK_QUEUE_NAME"], connection=app.extensions["redis"], is_async=app.config["RQ_ASYNC"])


def ping() -> None:
    """Raise unless Redis answers (a /readyz check)."""
    current_app.extensions["redis"].ping()


def enqueue_export(rows: int) -> str:
    queue = get_queue(current_app)
    job = queue.enqueue(run_export, rows, job_timeout=current_app.config["EXPORT_JOB_TIMEOUT"], result_ttl=24 * 3600)
    return str(job.id)


def export_status(job_id: str) -> dict[str, Any]:
    try:
        job = Job.fetch(job_id, connection=current_app.extensions["redis"])
    except (NoSuchJobError, ValueError):  # ValueError: not an id RQ could have made ("%3B")
        abort(404, description=f"no export job with id {job_id}")
    status = STATUS_NAMES.get(job.get_status(refresh=True), "queued")
    body: dict[str, Any] = {"id": job_id, "status": status}
    if status == "finished":
        body["result"] = job.return_value()
    elif status == "failed":
        body["error"] = "the export failed; see the worker log"
    return body


def run_worker(app: Flask) -> None:
    """The worker process's loop (`{{ cookiecutter.project_slug }}-worker`). Jobs run inside this
    app's context (the work horse inherits it when RQ forks)."""
    with app.app_context():
        Worker([get_queue(app)], connection=app.extensions["redis"]).work()
