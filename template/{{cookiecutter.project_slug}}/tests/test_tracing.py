"""Tracing: a server span per request (probes excluded), database statements as its children
when there is a database, outbound urllib calls as client spans, and the trace id on the
request's log lines."""

from __future__ import annotations

import http.server
import logging
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from flask import Flask
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from {{ cookiecutter.package_name }} import tracing
from {{ cookiecutter.package_name }}.logging import TEXT_FORMAT, JsonFormatter, add_request_id


@pytest.fixture(scope="module")
def exporter() -> InMemorySpanExporter:
    """The process's tracer provider, started once (OpenTelemetry allows one per process)."""
    spans = InMemorySpanExporter()
    assert tracing.start(SimpleSpanProcessor(spans)) is not None
    return spans


@pytest.fixture
def spans(exporter: InMemorySpanExporter) -> Iterator[InMemorySpanExporter]:
    exporter.clear()
    yield exporter


def test_a_request_is_a_server_span(spans: InMemorySpanExporter, make_app: Callable[..., Flask]) -> None:
    client = make_app().test_client()
    spans.clear()  # the app's set-up (tables) is traced too
    assert client.get("/healthz").status_code == 200  # excluded: probes would drown the rest
    assert client.get("{{ "/items" if cookiecutter.database != "none" else "/openapi.json" }}").status_code == 200
    server = [span for span in spans.get_finished_spans() if span.kind == SpanKind.SERVER]
    assert [span.name for span in server] == ["GET {{ "/items" if cookiecutter.database != "none" else "/openapi.json" }}"]
{%- if cookiecutter.database != "none" %}
    statements = [span for span in spans.get_finished_spans() if span.kind == SpanKind.CLIENT]
    assert statements, "no database span"
    assert {span.context.trace_id for span in statements} == {server[0].context.trace_id}
{%- endif %}


def test_the_trace_id_is_on_the_request_log_lines(spans: InMemorySpanExporter, make_app: Callable[..., Flask]) -> None:
    app = make_app()
    lines: list[logging.LogRecord] = []

    @app.get("/logs-a-line")
    def logs_a_line() -> dict[str, str]:
        record = logging.LogRecord("app", logging.INFO, __file__, 0, "handled", None, None)
        add_request_id(record)
        lines.append(record)
        return {}

    assert app.test_client().get("/logs-a-line", headers={"X-Request-ID": "rid-1"}).status_code == 200
    (span,) = [span for span in spans.get_finished_spans() if span.kind == SpanKind.SERVER]
    trace_id = format(span.context.trace_id, "032x")
    (record,) = lines
    assert record.trace_id == trace_id
    assert f"[rid-1 {trace_id}]" in logging.Formatter(TEXT_FORMAT).format(record)
    assert f'"trace_id": "{trace_id}"' in JsonFormatter().format(record)


class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_an_outbound_urllib_call_is_a_client_span(spans: InMemorySpanExporter) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    # A short poll interval: shutdown() waits for the next poll (0.5 s by default).
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_address[1]}/hello", timeout=5) as response:
            assert response.read() == b"ok"
    finally:
        server.shutdown()
        server.server_close()
    (span,) = spans.get_finished_spans()
    assert span.kind == SpanKind.CLIENT
    assert span.name == "GET"


def test_opentelemetry_can_be_switched_off(monkeypatch: pytest.MonkeyPatch, exporter: InMemorySpanExporter) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert tracing.start() is None


def test_a_collector_that_never_answers_does_not_hold_the_exit() -> None:
    """A process exits within SHUTDOWN_SECONDS of its last request even when the export hangs
    (the SDK's own flush at exit waits up to 30 s: each recycled Gunicorn worker did)."""
    release = threading.Event()

    class BlackHole(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            release.wait(30)
            return SpanExportResult.FAILURE

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(BlackHole()))
    with provider.get_tracer(__name__).start_as_current_span("request"):
        pass
    began = time.monotonic()
    try:
        tracing.shutdown(provider)
        assert time.monotonic() - began < tracing.SHUTDOWN_SECONDS + 2
    finally:
        release.set()
