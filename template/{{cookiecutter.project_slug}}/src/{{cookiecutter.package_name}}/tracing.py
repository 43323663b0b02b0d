"""OpenTelemetry tracing: a span for every request (Flask){% if cookiecutter.database != "none" %}, database statement (SQLAlchemy){% endif %} and
outbound HTTP call made with urllib, exported over OTLP/HTTP.

Configured by the standard OTEL_* variables, read by the SDK itself: OTEL_EXPORTER_OTLP_ENDPOINT
(default http://localhost:4318), OTEL_SERVICE_NAME (default "{{ cookiecutter.project_slug }}"),
OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG, OTEL_RESOURCE_ATTRIBUTES; OTEL_TRACES_EXPORTER=none
traces without exporting (development, the test run), OTEL_SDK_DISABLED=true turns it off. The
trace id is on every log line next to the request id (logging.py).

`start()` is per process and is called by the entry points (wsgi.py, imported by each Gunicorn
worker after fork, so the exporter's thread lives in the worker that fills it; the task worker;
the `flask` command); create_app only instruments each app it makes (init_app).
"""

from __future__ import annotations

import atexit
import json
import os
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from flask import Flask, Response
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.flask import FlaskInstrumentor
{%- if cookiecutter.database != "none" %}
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
{%- endif %}
from opentelemetry.instrumentation.urllib import URLLibInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult
from werkzeug.exceptions import SecurityError
from werkzeug.wsgi import get_host

from . import project_version
from .errors import error_body

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

# Never traced: the probes and the scraper, which would otherwise be most of the spans.
EXCLUDED_URLS = "healthz,readyz,metrics"
# An export gives up after EXPORT_TIMEOUT_SECONDS (the SDK's default is 10, retries included), and
# a process exits at most SHUTDOWN_SECONDS after its last request, whatever the collector does;
# spans wait in the SDK's bounded queue (OTEL_BSP_MAX_QUEUE_SIZE, 2048) and beyond it are dropped.
EXPORT_TIMEOUT_SECONDS = 2.0
SHUTDOWN_SECONDS = 0.5


class NoExport(SpanExporter):
    """OTEL_TRACES_EXPORTER=none: spans are made (trace ids in the logs) and sent nowhere."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def start(processor: SpanProcessor | None = None) -> TracerProvider | None:
    """Set this process's tracer provider and instrument the libraries (once per process; a
    second call adds processor to the provider already set). processor replaces the OTLP batch
    exporter (tests). None when OTEL_SDK_DISABLED is true."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    if os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "none":
        processor = processor or SimpleSpanProcessor(NoExport())
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):  # started before in this process (the test run)
        if processor is not None:
            current.add_span_processor(processor)
        return current
    resource = Resource.create({SERVICE_NAME: "{{ cookiecutter.project_slug }}", SERVICE_VERSION: project_version()})
    # Resource.create gives OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES precedence over these.
    # The SDK's own atexit flush waits up to 30 s for a collector that does not answer: long
    # enough to stall every recycled Gunicorn worker. Ours gives up after SHUTDOWN_SECONDS.
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    provider.add_span_processor(processor or BatchSpanProcessor(OTLPSpanExporter(timeout=EXPORT_TIMEOUT_SECONDS)))
    trace.set_tracer_provider(provider)
    atexit.register(shutdown, provider)
{%- if cookiecutter.database != "none" %}
    SQLAlchemyInstrumentor().instrument(tracer_provider=provider)
{%- endif %}
    URLLibInstrumentor().instrument(tracer_provider=provider)
    return provider


def shutdown(provider: TracerProvider) -> None:
    """Flush what the collector takes within SHUTDOWN_SECONDS, then let the process exit (the
    SDK's thread is a daemon thread)."""
    flushing = threading.Thread(target=provider.shutdown, name="otel-shutdown", daemon=True)
    try:
        flushing.start()
    except RuntimeError:  # Python >= 3.12 at interpreter exit: no new thread, and no unbounded flush
        return
    flushing.join(SHUTDOWN_SECONDS)


def init_app(app: Flask) -> None:
    """A span per request of this app, on the process's provider (a no-op one until start()).

    A request naming a Host outside TRUSTED_HOSTS is answered 400 before the instrumentation
    sees it: its hooks read request.url, which raises again for such a Host after Flask's own
    400, past every error handler (a 500)."""
    FlaskInstrumentor().instrument_app(app, excluded_urls=EXCLUDED_URLS)  # type: ignore[no-untyped-call]
    traced = app.wsgi_app

    def trusted_hosts_first(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            get_host(environ, app.config["TRUSTED_HOSTS"])
        except SecurityError as error:
            body = json.dumps(error_body(400, "Bad Request", error.description or "untrusted Host"))
            return Response(body, 400, mimetype="application/json")(environ, start_response)
        return traced(environ, start_response)

    app.wsgi_app = trusted_hosts_first  # type: ignore[method-assign]


def current_trace_id() -> str:
    """The current span's trace id as 32 hex digits, or "-" outside a sampled span."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else "-"
