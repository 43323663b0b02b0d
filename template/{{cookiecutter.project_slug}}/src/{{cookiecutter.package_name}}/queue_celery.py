"""The task queue: Celery with a Redis broker, wired with the Flask docs' `celery_init_app`.

The same interface as every queue module of this template: `init_app`, `ping`,
`enqueue_export`, `export_status` and `run_worker`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from celery import Celery, Task, shared_task, states
from flask import Flask, abort, current_app
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from . import errors, health
from .tasks import build_export

# Read-only: module-level state must not be mutable.
STATUS_NAMES: Mapping[str, str] = MappingProxyType(
    {"PENDING": "queued", "RECEIVED": "queued", "STARTED": "started", "RETRY": "queued",
     "SUCCESS": "finished", "FAILURE": "failed", "REVOKED": "failed"}
)  # fmt: skip

# No retry of a failed call to Redis: the error (answered 503), and the next request tries anew.
REDIS_RETRY_POLICY: Mapping[str, float] = MappingProxyType({"max_retries": 0})
BROKER_ERRORS = (BrokerError, RedisConnectionError, RedisTimeoutError)


@shared_task(ignore_result=False, name="{{ cookiecutter.package_name }}.export")
def export_task(rows: int) -> dict[str, Any]:
    return build_export(rows)


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
    timeout = config["REDIS_TIMEOUT"]
    return {
        "broker_url": config["REDIS_URL"],
        "result_backend": config["REDIS_URL"],
        "task_default_queue": config["TASK_QUEUE_NAME"],
        "result_expires": 24 * 3600,
        "task_acks_late": True,
        "worker_prefetch_multiplier": 1,
        "broker_connection_retry_on_startup": True,
        # Bounded calls to Redis: with Redis down or frozen, POST /exports fails within about
        # a second (503), not after Celery's default retries (about 20 s).
        "broker_connection_timeout": timeout,
        "broker_transport_options": {"socket_connect_timeout": timeout, "socket_timeout": timeout},
        "task_publish_retry_policy": REDIS_RETRY_POLICY,
        "redis_socket_connect_timeout": timeout,
        "redis_socket_timeout": timeout,
        "result_backend_transport_options": {"retry_policy": REDIS_RETRY_POLICY},
    }


def init_app(app: Flask) -> None:
    """The Flask docs' celery_init_app: tasks run inside this app's context. A broker that is
    down is a 503 (errors.handle_unavailable), and /readyz checks it."""

    class FlaskTask(Task[Any, Any]):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app: Celery[Any] = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(celery_settings(app.config))
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    for error in BROKER_ERRORS:
        app.register_error_handler(error, errors.handle_unavailable)
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


def run_worker(app: Flask) -> None:
    """The worker process's loop (`{{ cookiecutter.project_slug }}-worker`)."""
    celery_app: Celery[Any] = app.extensions["celery"]
    celery_app.worker_main(["worker", "--loglevel=INFO", "--queues", app.config["TASK_QUEUE_NAME"]])
