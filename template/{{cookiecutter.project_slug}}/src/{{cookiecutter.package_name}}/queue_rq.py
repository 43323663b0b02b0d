"""The task queue: RQ on Redis.

The same interface as every queue module of this template: `BROKER_ERRORS`, `init_app`, `ping`,
`enqueue_export`, `export_status` and `run_worker`.
"""

from __future__ import annotations

from typing import Any

import redis
from flask import Flask, abort, current_app
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Queue, Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from . import health
from .tasks import build_export

BROKER_ERRORS = (redis.ConnectionError, redis.TimeoutError)


def run_export(rows: int) -> dict[str, Any]:
    """The RQ job (the worker runs it inside an app context, see run_worker)."""
    return build_export(rows)


def init_app(app: Flask) -> None:
    """One Redis client (a connection pool) per app; connect and read timeouts (REDIS_TIMEOUT)
    keep a dead or frozen Redis from holding a request (the worker raises its own read timeout
    above its blocking wait). /readyz checks Redis."""
    timeout = app.config["REDIS_TIMEOUT"]
    # One quick retry after a broken connection (Redis restarted), none after a timeout.
    retry = Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,))
    app.extensions["redis"] = Redis.from_url(
        app.config["REDIS_URL"], socket_connect_timeout=timeout, socket_timeout=timeout, retry=retry
    )
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
    status = {
        JobStatus.STARTED: "started",
        JobStatus.FINISHED: "finished",
        JobStatus.FAILED: "failed",
        JobStatus.STOPPED: "failed",
        JobStatus.CANCELED: "failed",
    }
    body: dict[str, Any] = {"id": job_id, "status": status.get(job.get_status(refresh=True), "queued")}
    if body["status"] == "finished":
        body["result"] = job.return_value()
    elif body["status"] == "failed":
        body["error"] = "the export failed; see the worker log"
    return body


def run_worker(app: Flask) -> None:
    """The worker process's loop (the project's `-worker` command). Jobs run inside this app's
    context (the work horse inherits it when RQ forks)."""
    with app.app_context():
        Worker([get_queue(app)], connection=app.extensions["redis"]).work()
