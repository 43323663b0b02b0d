"""The task queue: Celery with a Redis broker, wired with the Flask docs' `celery_init_app`.

The same interface as every queue module of this template: `BROKER_ERRORS`, `init_app`, `ping`,
`enqueue_export`, `export_status` and `run_worker`.
"""

from __future__ import annotations

import uuid
from typing import Any

import redis
from celery import Celery, Task, shared_task, states
from flask import Flask, abort, current_app
from kombu.exceptions import OperationalError as BrokerError

from . import health
from .tasks import build_export

BROKER_ERRORS = (BrokerError, redis.ConnectionError, redis.TimeoutError)


@shared_task(ignore_result=False, name="{{ cookiecutter.package_name }}.export")
def export_task(rows: int) -> dict[str, Any]:
    return build_export(rows)


def init_app(app: Flask) -> None:
    """The Flask docs' celery_init_app: tasks run inside this app's context; the broker and result
    backend on REDIS_URL, each call to Redis bounded and tried once (with Redis down or frozen,
    POST /exports fails within about a second, not after Celery's default retries of about 20 s),
    then whatever the CELERY setting names. /readyz checks the broker."""

    class FlaskTask(Task[Any, Any]):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app: Celery[Any] = Celery(app.name, task_cls=FlaskTask)
    timeout, once = app.config["REDIS_TIMEOUT"], {"max_retries": 0}
    celery_app.config_from_object(
        {
            "broker_url": app.config["REDIS_URL"],
            "result_backend": app.config["REDIS_URL"],
            "task_default_queue": app.config["TASK_QUEUE_NAME"],
            "task_acks_late": True,  # a job whose worker dies is run again
            "worker_prefetch_multiplier": 1,
            "broker_connection_timeout": timeout,
            "broker_transport_options": {"socket_connect_timeout": timeout, "socket_timeout": timeout},
            "task_publish_retry_policy": once,
            "redis_socket_connect_timeout": timeout,
            "redis_socket_timeout": timeout,
            "result_backend_transport_options": {"retry_policy": once},
            **app.config["CELERY"],
        }
    )
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    health.add_check(app, "broker", ping)


def ping() -> None:
    """Raise unless the broker accepts a connection (a /readyz check). One attempt, no retry:
    kombu sleeps 2 s before a retry, and a probe that waits for a broker that refused it only
    answers later with the same 503 (the next probe is the retry)."""
    celery_app: Celery[Any] = current_app.extensions["celery"]
    with celery_app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=0, timeout=2)


def enqueue_export(rows: int) -> str:
    """Record the job, then send it. Celery says PENDING for any id it never saw; the record is
    how GET /exports/<id> tells a queued job from an unknown id (404)."""
    job_id = str(uuid.uuid4())
    export_task.backend.store_result(job_id, None, states.PENDING)
    export_task.apply_async((rows,), task_id=job_id)
    return job_id


def export_status(job_id: str) -> dict[str, Any]:
    meta = current_app.extensions["celery"].backend.get_task_meta(job_id)
    if "task_id" not in meta:  # never enqueued here, or expired (results are kept a day)
        abort(404, description=f"no export job with id {job_id}")
    status = {"STARTED": "started", "SUCCESS": "finished", "FAILURE": "failed", "REVOKED": "failed"}
    body: dict[str, Any] = {"id": job_id, "status": status.get(meta["status"], "queued")}
    if body["status"] == "finished":
        body["result"] = meta["result"]
    elif body["status"] == "failed":  # the worker's exception may hold SQL or data: it stays in the worker log
        body["error"] = "the export failed; see the worker log"
    return body


def run_worker(app: Flask) -> None:
    """The worker process's loop (the project's `-worker` command)."""
    celery_app: Celery[Any] = app.extensions["celery"]
    celery_app.worker_main(["worker", "--loglevel=INFO", "--queues", app.config["TASK_QUEUE_NAME"]])
