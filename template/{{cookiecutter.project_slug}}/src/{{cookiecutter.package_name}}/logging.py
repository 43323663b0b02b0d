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


class DroppingQueueHandler(QueueHandler):
    """A QueueHandler on a bounded queue: a record that finds it full is dropped and counted (the
    stock handler reports each with a traceback on stderr, the very sink that is behind), and the
    next record that fits is preceded by a warning with the count. Handler.handle holds the
    handler's lock, so two threads never update the count at once."""

    dropped = 0  # since the last warning
    dropped_total = 0

    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            if self.dropped:
                message = f"dropped {self.dropped} log records: the log sink is slower than the log rate"
                warning = logging.makeLogRecord({"name": __name__, "levelno": logging.WARNING, "levelname": "WARNING",
                                                 "msg": message})  # fmt: skip
                self.filter(warning)  # the request id, as on every record
                self.queue.put_nowait(warning)
                self.dropped = 0
            self.queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1
            self.dropped_total += 1


class DrainingQueueListener(QueueListener):
    """A QueueListener whose stop() waits for room for its stop marker (None): the stock one
    puts it with put_nowait, which raises queue.Full at exit whenever the bounded queue is busy."""

    def enqueue_sentinel(self) -> None:
        assert isinstance(self.queue, queue.Queue)  # queue_handler's
        self.queue.put(None)  # the listener drains the queue, so room comes


def queue_handler(log_format: str, queue_size: int) -> QueueHandler:
    """dictConfig's factory of the root handler: a DroppingQueueHandler whose listener thread
    writes formatted records to stderr. (Python 3.12's dictConfig builds a QueueHandler and its
    listener from `queue` and `handlers` keys; this project supports 3.11, which cannot, and the
    bounded queue needs the dropping handler above on every version.)"""
    sink = logging.StreamHandler()
    sink.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    handler = DroppingQueueHandler(queue.Queue(maxsize=queue_size))
    handler.addFilter(RequestIdFilter())
    listener = DrainingQueueListener(handler.queue, sink, respect_handler_level=True)
    listener.start()
    handler.listener = listener  # type: ignore[attr-defined,unused-ignore]  # typed from Python 3.12
    return handler


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
                    "()": queue_handler,
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
