from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask, current_app
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }} import cli
from {{ cookiecutter.package_name }} import logging as app_logging
from {{ cookiecutter.package_name }}.config import settings_for
from {{ cookiecutter.package_name }}.logging import BoundedQueueHandler, JsonFormatter

ConfigureLogging = Callable[..., BoundedQueueHandler]


class Collect(logging.Handler):
    """A sink that keeps records; with `gate`, each emit waits until the gate opens (a slow sink)."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        super().__init__()
        self.gate = gate
        self.records: list[logging.LogRecord] = []
        self.arrived = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.gate is not None:
            self.gate.wait(timeout=30)
        self.records.append(record)
        self.arrived.set()


def queue_handler() -> BoundedQueueHandler:
    """The root logger's queue handler (the only one)."""
    (handler,) = [h for h in logging.getLogger().handlers if isinstance(h, BoundedQueueHandler)]
    return handler


def attach(sink: logging.Handler) -> BoundedQueueHandler:
    """Add a sink to the running queue listener (where the real stderr sink lives)."""
    handler = queue_handler()
    assert handler.listener is not None
    handler.listener.handlers = (*handler.listener.handlers, sink)
    return handler


@pytest.fixture
def configure_logging() -> Iterator[ConfigureLogging]:
    """What an entry point does (logging.configure with the tier's settings, overridable); the
    root logger is restored afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level

    def configure(**overrides: Any) -> BoundedQueueHandler:
        app_logging.configure({**settings_for("testing"), **overrides})
        return queue_handler()

    yield configure
    queue_handler().close()  # stops its thread
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)


@pytest.fixture
def logging_app(make_app: Callable[..., Flask], configure_logging: ConfigureLogging) -> Iterator[Flask]:
    configure_logging()
    app = make_app()

    @app.get("/log")
    def log() -> dict[str, str]:
        current_app.logger.warning("handled %s", "a request")
        return {"logged": "yes"}

    yield app


def test_request_id_is_echoed(client: FlaskClient) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"


def test_request_id_is_generated_or_replaced(client: FlaskClient) -> None:
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert len(generated) == 32
    unsafe = client.get("/healthz", headers={"X-Request-ID": "bad id\\nwith newline"})
    assert unsafe.headers["X-Request-ID"] != "bad id\\nwith newline"


def test_every_record_carries_the_request_id(logging_app: Flask) -> None:
    sink = Collect()
    attach(sink)
    logging_app.test_client().get("/log", headers={"X-Request-ID": "req-42"})
    assert sink.arrived.wait(timeout=10)
    assert [r.request_id for r in sink.records if r.getMessage() == "handled a request"] == ["req-42"]  # type: ignore[attr-defined]


def test_a_slow_sink_does_not_delay_the_request(logging_app: Flask) -> None:
    gate = threading.Event()
    sink = Collect(gate)
    attach(sink)
    # The sink blocks until the gate opens, yet the request completes: logging went to the queue.
    response = logging_app.test_client().get("/log")
    assert response.status_code == 200
    assert not sink.records
    gate.set()
    assert sink.arrived.wait(timeout=10)


def test_a_full_log_queue_drops_and_counts(configure_logging: ConfigureLogging) -> None:
    """A sink slower than the log rate costs dropped records, never unbounded memory, and the log
    says how many: every record is either written or counted."""
    handler = configure_logging(LOG_QUEUE_SIZE=5)
    gate = threading.Event()
    sink = Collect(gate)
    attach(sink)
    flood = logging.getLogger("flood")
    try:
        for n in range(50):
            flood.warning("record %d", n)
            assert handler.queue.qsize() <= 6  # 5 records, and a warning when one fits after drops
    finally:
        gate.set()
    deadline = time.monotonic() + 10
    while handler.queue.qsize() and time.monotonic() < deadline:  # the sink catches up
        time.sleep(0.01)
    flood.warning("after the flood")
    handler.close()  # writes what is queued
    messages = [r.getMessage() for r in sink.records]
    assert messages[-1] == "after the flood", messages
    written = sum(m.startswith("record ") for m in messages)
    dropped = sum(int(m.split()[1]) for m in messages if re.fullmatch(r"dropped \d+ log records: .+", m))
    # At most 5 wait in the queue and 1 in the blocked sink, whenever the listener thread runs.
    assert written <= 6 and written + dropped == 50, messages


def test_development_logs_are_readable_text(
    configure_logging: ConfigureLogging, capsys: pytest.CaptureFixture[str]
) -> None:
    """`make dev`: the development server's coloured lines reach the terminal as they are, not
    as JSON strings with escaped colour codes."""
    handler = configure_logging(**settings_for("development"))
    logging.getLogger("werkzeug").info("\x1b[32mGET /healthz HTTP/1.1\x1b[0m 200")
    handler.close()  # writes what is queued
    (line,) = [line for line in capsys.readouterr().err.splitlines() if "GET /healthz" in line]
    assert "\x1b[32mGET /healthz HTTP/1.1\x1b[0m 200" in line and not line.startswith("{")


def test_json_formatter_writes_one_object_per_line() -> None:
    record = logging.LogRecord("app", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    record.request_id = "r1"
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "hello world"
    assert entry["request_id"] == "r1"
    assert entry["level"] == "INFO"


def test_logging_uses_a_single_queue_handler(configure_logging: ConfigureLogging) -> None:
    first = configure_logging()
    second = configure_logging(LOG_FORMAT="text")
    assert logging.getLogger().handlers == [second]
    assert first.listener is None  # dictConfig closed the handler it replaced, which stopped its thread


def test_an_app_never_configures_logging(make_app: Callable[..., Flask]) -> None:
    """Logging is process-wide: only the entry points configure it, never create_app."""
    before = logging.getLogger().handlers[:]
    make_app("a")
    make_app("b")
    assert logging.getLogger().handlers == before


def test_the_flask_command_configures_logging_first(
    configure_logging: ConfigureLogging, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure_logging()  # saves and restores the root logger around this test
    monkeypatch.setenv("APP_ENV", "testing")
    monkeypatch.setenv("FLASK_LOG_LEVEL", "WARNING")
    app = cli.create_app()
    assert app.config["ENV_NAME"] == "testing"
    assert logging.getLogger().handlers == [queue_handler()]
    assert logging.getLogger().level == logging.WARNING
