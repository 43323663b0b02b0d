"""The generated app plus the endpoints the benchmarks need, loaded by Gunicorn with
`--pythonpath bench bench_app:app` (or `bench_app:bare`, a bare hello-world for comparison).

BENCH_LOG_MODE=queue (the generated QueueHandler logging) or direct (a plain handler on the
root logger) picks the logging setup; BENCH_SINK_DELAY is how long the sink takes per record.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import time
from typing import Any

from bench_service import create_app
from bench_service import logging as service_logging
from bench_service.config import settings_for
from flask import Flask, request

SINK_DELAY = float(os.environ.get("BENCH_SINK_DELAY", "0.1"))
EXPORT_SECONDS = float(os.environ.get("BENCH_EXPORT_SECONDS", "2"))


class SlowSink(logging.StreamHandler):  # type: ignore[type-arg]
    """A log sink that takes SINK_DELAY per record (a slow disk, a remote syslog, a full pipe)."""

    def emit(self, record: logging.LogRecord) -> None:
        time.sleep(SINK_DELAY)
        super().emit(record)


def slow_export(seconds: float) -> dict[str, Any]:
    """The export the task-queue benchmark runs: seconds of work, then a small result."""
    time.sleep(seconds)
    return {"rows": 1000, "seconds": seconds}


def _configure_logging(mode: str) -> None:
    root = logging.getLogger()
    queue_handlers = [h for h in root.handlers if isinstance(h, service_logging.BoundedQueueHandler)]
    if mode == "direct":
        for handler in queue_handlers:
            handler.close()  # stops its listener thread
        root.handlers = [SlowSink(sys.stderr)]
    elif mode == "queue":
        for handler in queue_handlers:
            assert handler.listener is not None
            handler.listener.handlers = (SlowSink(sys.stderr),)


def _routes(app: Flask) -> None:
    @app.get("/cpu")
    def cpu() -> dict[str, str]:
        digest = b"x"
        for _ in range(20_000):  # about 10 ms of CPU
            digest = hashlib.sha256(digest).digest()
        return {"digest": digest.hex()[:8]}

    @app.get("/io")
    def io() -> dict[str, str]:
        time.sleep(0.05)  # an outbound call or a slow query
        return {"waited": "50ms"}

    @app.get("/log")
    def log() -> dict[str, str]:
        app.logger.warning("bench record")
        return {"logged": "1"}

    @app.post("/upload")
    def upload() -> dict[str, int]:
        return {"size": len(request.get_data())}

    @app.post("/export-sync")
    def export_sync() -> dict[str, Any]:
        return slow_export(EXPORT_SECONDS)

    @app.post("/export-async")
    def export_async() -> tuple[dict[str, Any], int]:
        from bench_service.queue_rq import get_queue

        job = get_queue(app).enqueue(slow_export, EXPORT_SECONDS)
        return {"id": job.id}, 202


# An entry point, like the generated wsgi.py: logging first, then the app.
service_logging.configure(settings_for(os.environ.get("APP_ENV", "production")))
app = create_app(env=os.environ.get("APP_ENV", "production"))
_routes(app)
_configure_logging(os.environ.get("BENCH_LOG_MODE", ""))

bare = Flask("bare")


@bare.get("/healthz")
def bare_healthz() -> dict[str, str]:
    return {"status": "ok"}
