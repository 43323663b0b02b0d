"""Logging that never makes a request wait on a log sink.

Every record goes to a QueueHandler (a cheap in-memory put) and a QueueListener thread writes it
to stderr, where Gunicorn/systemd/Docker collect it. A request id (from the X-Request-ID header,
which Nginx sets, or generated here) is on every record and echoed in the response.
"""

from __future__ import annotations

import atexit
import json
import logging
import logging.config
import queue
import re
import sys
import uuid
from datetime import UTC, datetime
from logging.handlers import QueueHandler, QueueListener
from typing import Any

from flask import Flask, Response, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
# Incoming ids are echoed into logs and headers: accept only short, plain tokens.
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to each record; runs in the calling (request) thread, before the queue."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = g.get("request_id") if has_request_context() else None
        record.request_id = request_id or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line. Written here rather than adding a dependency for ~15 lines."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class BoundedQueueHandler(QueueHandler):
    """A QueueHandler on a bounded queue: when the sink falls behind and the queue is full, a
    record is dropped and counted rather than held in memory; the next record that fits is
    preceded by a warning with the count. Handler.handle holds the handler lock, so the count
    is never updated by two threads at once."""

    def __init__(self, records: queue.Queue[logging.LogRecord]) -> None:
        super().__init__(records)
        self.dropped = 0

    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            if self.dropped:
                self.queue.put_nowait(self._dropped_record())
                self.dropped = 0
            self.queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1

    def _dropped_record(self) -> logging.LogRecord:
        message = "dropped %d log records: the log sink is slower than the log rate"
        record = logging.LogRecord(__name__, logging.WARNING, __file__, 0, message, (self.dropped,), None)
        record.request_id = "-"
        return record


def make_queue_handler(log_format: str, queue_size: int = 10_000, stream: Any = None) -> QueueHandler:
    """A QueueHandler whose listener thread writes formatted records to stream (stderr)."""
    sink = logging.StreamHandler(stream or sys.stderr)
    sink.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    records: queue.Queue[logging.LogRecord] = queue.Queue(maxsize=queue_size)
    handler = BoundedQueueHandler(records)
    handler.addFilter(RequestIdFilter())
    listener = QueueListener(records, sink, respect_handler_level=True)
    handler.listener = listener  # type: ignore[attr-defined,unused-ignore]  # typed from Python 3.12
    listener.start()
    return handler


def queue_handlers() -> list[QueueHandler]:
    """The queue handlers installed on the root logger."""
    return [h for h in logging.getLogger().handlers if isinstance(h, QueueHandler)]


def stop_logging() -> None:
    """Flush and stop the listener threads (at exit, and before re-configuring)."""
    for handler in queue_handlers():
        listener = getattr(handler, "listener", None)
        if listener is not None and listener._thread is not None:
            listener.stop()


def restart_after_fork() -> None:
    """Threads do not survive fork(): give each queue handler a fresh listener thread.
    Gunicorn's post_fork hook calls this (it matters with preload_app)."""
    for handler in queue_handlers():
        old = getattr(handler, "listener", None)
        if old is not None:
            listener = QueueListener(old.queue, *old.handlers, respect_handler_level=True)
            handler.listener = listener  # type: ignore[attr-defined,unused-ignore]  # typed from Python 3.12
            listener.start()


def configure_logging(app: Flask) -> None:
    """Route all logging (root logger) through one queue; safe to call for every app.

    Logging is process-wide, so the last app created sets the level and format; the previous
    listener is stopped first so no thread is leaked.
    """
    stop_logging()
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "handlers": {
                "queue": {
                    "()": make_queue_handler,
                    "log_format": app.config["LOG_FORMAT"],
                    "queue_size": app.config["LOG_QUEUE_SIZE"],
                }
            },
            "root": {"level": app.config["LOG_LEVEL"], "handlers": ["queue"]},
            # Alembic logs seven "setup plugin" lines at INFO each time an app is made.
            "loggers": {"alembic.runtime.plugins": {"level": "WARNING"}},
        }
    )
    atexit.unregister(stop_logging)
    atexit.register(stop_logging)


def init_request_id(app: Flask) -> None:
    """Take X-Request-ID from the request (Nginx sets it) or make one; echo it back."""

    @app.before_request
    def assign_request_id() -> None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex

    @app.after_request
    def echo_request_id(response: Response) -> Response:
        request_id = g.get("request_id")
        if request_id:
            response.headers[REQUEST_ID_HEADER] = request_id
        return response
