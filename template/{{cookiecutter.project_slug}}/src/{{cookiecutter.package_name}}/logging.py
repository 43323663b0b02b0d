"""Logging that never makes a request wait on a log sink.

Every record goes to a QueueHandler (a cheap in-memory put) and a QueueListener thread writes it
to stderr, where Gunicorn/systemd/Docker collect it. Logging is process-wide, so the entry
points (wsgi.py, cli.py, worker.py) call `configure` once, before they make the app; an app
never configures it. Every record made in a request carries its id (create_app's hooks).
"""

from __future__ import annotations

import atexit
import json
import logging
import logging.config
import queue
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from logging.handlers import QueueHandler, QueueListener
from typing import Any

from flask import g, has_request_context
{%- if cookiecutter.tracing == "opentelemetry" %}

from .tracing import current_trace_id
{%- endif %}

TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s{% if cookiecutter.tracing == "opentelemetry" %} %(trace_id)s{% endif %}] %(name)s: %(message)s"


class RequestIdFilter(logging.Filter):
    """Adds the request id (and the trace id, with tracing) to each record; runs in the calling
    (request) thread, before the queue."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id() or "-"
{%- if cookiecutter.tracing == "opentelemetry" %}
        record.trace_id = current_trace_id()
{%- endif %}
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
{%- if cookiecutter.tracing == "opentelemetry" %}
            "trace_id": getattr(record, "trace_id", "-"),
{%- endif %}
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
        """Dropped since the last warning (the count the next warning reports)."""
        self.dropped_total = 0
        """Dropped since start."""

    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            if self.dropped:
                self.queue.put_nowait(self._dropped_record())
                self.dropped = 0
            self.queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1
            self.dropped_total += 1

    def _dropped_record(self) -> logging.LogRecord:
        message = "dropped %d log records: the log sink is slower than the log rate"
        record = logging.LogRecord(__name__, logging.WARNING, __file__, 0, message, (self.dropped,), None)
        record.request_id = "-"
{%- if cookiecutter.tracing == "opentelemetry" %}
        record.trace_id = "-"
{%- endif %}
        return record


def make_queue_handler(log_format: str, queue_size: int = 10_000, stream: Any = None) -> QueueHandler:
    """A QueueHandler whose listener thread writes formatted records to stream (stderr)."""
    sink = logging.StreamHandler(stream or sys.stderr)
    sink.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    records: queue.Queue[logging.LogRecord] = queue.Queue(maxsize=queue_size)
    handler = BoundedQueueHandler(records)
    handler.addFilter(RequestIdFilter())
    start_listener(handler, DrainingQueueListener(records, sink, respect_handler_level=True))
    return handler


class DrainingQueueListener(QueueListener):
    """A QueueListener whose stop() waits for room for its stop marker: the stock one puts it
    with put_nowait, which raises queue.Full at exit whenever the bounded queue is busy."""

    def __init__(
        self, records: queue.Queue[Any], *handlers: logging.Handler, respect_handler_level: bool = False
    ) -> None:
        super().__init__(records, *handlers, respect_handler_level=respect_handler_level)
        self.records = records

    def enqueue_sentinel(self) -> None:
        self.records.put(None)  # None is QueueListener's stop marker; the listener drains, so room comes


def start_listener(handler: QueueHandler, listener: QueueListener) -> None:
    listener.start()
    handler.listener = listener  # type: ignore[attr-defined,unused-ignore]  # typed from Python 3.12


def queue_handlers() -> list[QueueHandler]:
    """The queue handlers installed on the root logger."""
    return [h for h in logging.getLogger().handlers if isinstance(h, QueueHandler)]


def stop() -> None:
    """Flush and stop the listener threads (at exit, and before configuring again)."""
    for handler in queue_handlers():
        listener = getattr(handler, "listener", None)
        if listener is not None:
            handler.listener = None  # type: ignore[attr-defined,unused-ignore]
            listener.stop()


def restart_after_fork() -> None:
    """Threads do not survive fork(): give each queue handler a fresh listener thread.
    Gunicorn's post_fork hook calls this (it matters with preload_app)."""
    for handler in queue_handlers():
        old = getattr(handler, "listener", None)
        if old is not None:
            start_listener(handler, DrainingQueueListener(old.queue, *old.handlers, respect_handler_level=True))


def configure(settings: Mapping[str, Any]) -> None:
    """Route all logging (root logger) through one queue, with the LOG_LEVEL, LOG_FORMAT and
    LOG_QUEUE_SIZE of settings (config.settings_for). Calling it again replaces the handler
    and stops the previous listener thread first."""
    stop()
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "handlers": {
                "queue": {
                    "()": make_queue_handler,
                    "log_format": settings["LOG_FORMAT"],
                    "queue_size": settings["LOG_QUEUE_SIZE"],
                }
            },
            "root": {"level": settings["LOG_LEVEL"], "handlers": ["queue"]},
            # Alembic logs seven "setup plugin" lines at INFO each time an app is made.
            "loggers": {"alembic.runtime.plugins": {"level": "WARNING"}},
        }
    )
    atexit.unregister(stop)
    atexit.register(stop)


def request_id() -> str | None:
    """The current request's id (None outside a request; create_app's hooks set it)."""
    return g.get("request_id") if has_request_context() else None
