"""Logging that never makes a request wait on a log sink.

Every record goes to a QueueHandler (a cheap in-memory put) and a QueueListener thread writes it
to stderr, where Gunicorn/systemd/Docker collect it. Logging is process-wide, so the entry
points (wsgi.py, cli.py, worker.py) call `configure` once, before they make the app; an app
never configures it. Every record made in a request carries its id (create_app's hooks).
"""

from __future__ import annotations

import json
import logging
import logging.config
import queue
from collections.abc import Mapping
from datetime import UTC, datetime
from logging.handlers import QueueHandler, QueueListener
from typing import Any

from flask import g, has_request_context
{%- if cookiecutter.tracing == "opentelemetry" %}

from .tracing import current_trace_id
{%- endif %}

TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s{% if cookiecutter.tracing == "opentelemetry" %} %(trace_id)s{% endif %}] %(name)s: %(message)s"


def add_request_id(record: logging.LogRecord) -> bool:
    """The queue handler's filter: it runs in the thread that logs (the request's), before the queue."""
    record.request_id = g.get("request_id", "-") if has_request_context() else "-"
{%- if cookiecutter.tracing == "opentelemetry" %}
    record.trace_id = current_trace_id()
{%- endif %}
    return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line. A traceback is part of the message (QueueHandler.prepare puts it there)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
{%- if cookiecutter.tracing == "opentelemetry" %}
            "trace_id": getattr(record, "trace_id", "-"),
{%- endif %}
        }
        return json.dumps(entry, default=str)


class BoundedQueueHandler(QueueHandler):
    """A QueueHandler with its own listener thread writing to stderr. At most `limit` records wait:
    past that a record is dropped, and a warning with the count goes ahead of the next one that fits
    (on a full queue.Queue the stock handler would print a traceback per drop, to the very sink that
    is behind). Records enter only through this handler, under its lock, so the size it checks
    cannot grow before its put."""

    queue: queue.SimpleQueue[logging.LogRecord]
    listener: QueueListener | None

    def __init__(self, log_format: str, limit: int) -> None:
        sink = logging.StreamHandler()
        sink.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
        super().__init__(queue.SimpleQueue())
        self.limit, self.dropped = limit, 0
        self.addFilter(add_request_id)
        self.listener = QueueListener(self.queue, sink, respect_handler_level=True)
        self.listener.start()

    def enqueue(self, record: logging.LogRecord) -> None:
        if self.queue.qsize() >= self.limit:
            self.dropped += 1
            return
        if self.dropped:
            message = "dropped %d log records: the log sink is slower than the log rate"
            warning = logging.LogRecord(__name__, logging.WARNING, __file__, 0, message, (self.dropped,), None)
            self.filter(warning)  # the request id, as on every record
            self.queue.put_nowait(warning)
            self.dropped = 0
        self.queue.put_nowait(record)

    def close(self) -> None:
        """Write what is queued and stop the thread: dictConfig closes the handler it replaces, and
        logging closes every handler at exit."""
        if self.listener is not None:
            self.listener.stop()
            self.listener = None
        super().close()


def configure(settings: Mapping[str, Any]) -> None:
    """Route all logging (the root logger) through one BoundedQueueHandler, with the LOG_LEVEL,
    LOG_FORMAT and LOG_QUEUE_SIZE of settings (config.settings_for). (Python 3.12's dictConfig
    can build a QueueHandler and its listener from keys; this project supports 3.11.)"""
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "handlers": {
                "queue": {
                    "()": BoundedQueueHandler,
                    "log_format": settings["LOG_FORMAT"],
                    "limit": settings["LOG_QUEUE_SIZE"],
                }
            },
            "root": {"level": settings["LOG_LEVEL"], "handlers": ["queue"]},
            # Alembic logs seven "setup plugin" lines at INFO each time an app is made.
            "loggers": {"alembic.runtime.plugins": {"level": "WARNING"}},
        }
    )
