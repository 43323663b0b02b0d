"""OpenTelemetry tracing: a span for every request (Flask), database statement (SQLAlchemy, when
the project has a database) and outbound HTTP call made with urllib, exported over OTLP/HTTP.

Configured by the standard OTEL_* variables, read by the SDK itself: OTEL_EXPORTER_OTLP_ENDPOINT
(default http://localhost:4318), OTEL_SERVICE_NAME (default: the project's name),
OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG, OTEL_RESOURCE_ATTRIBUTES; OTEL_TRACES_EXPORTER=none
traces without exporting (development, the test run), OTEL_SDK_DISABLED=true turns it off. The
trace id is on every log line next to the request id (logging.py).

`start()` is per process and is called by the entry points (wsgi.py, imported by each Gunicorn
worker after fork, so the exporter's thread lives in the worker that fills it; the task worker;
the `flask` command); create_app only instruments each app it makes (init_app).
"""

from __future__ import annotations

import atexit
import os
import threading
from contextlib import suppress

from flask import Flask, request
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.flask import FlaskInstrumentor
{%- if cookiecutter.database != "none" %}
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
{%- endif %}
from opentelemetry.instrumentation.urllib import URLLibInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from werkzeug.exceptions import SecurityError

from . import project_version

# Never traced: the probes and the scraper, which would otherwise be most of the spans.
EXCLUDED_URLS = "healthz,readyz,metrics"
# An export gives up after EXPORT_TIMEOUT_SECONDS (the SDK's default is 10, retries included), and
# a process exits at most SHUTDOWN_SECONDS after its last request, whatever the collector does;
# spans wait in the SDK's bounded queue (OTEL_BSP_MAX_QUEUE_SIZE, 2048) and beyond it are dropped.
EXPORT_TIMEOUT_SECONDS = 2.0
SHUTDOWN_SECONDS = 0.5


def start(processor: SpanProcessor | None = None) -> TracerProvider | None:
    """Set this process's tracer provider and instrument the libraries (once per process; a
    second call adds processor to the provider already set). processor replaces the OTLP batch
    exporter (tests). None when OTEL_SDK_DISABLED is true."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    if processor is None and os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() != "none":
        processor = BatchSpanProcessor(OTLPSpanExporter(timeout=EXPORT_TIMEOUT_SECONDS))
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):  # not started before in this process (the test run is)
        resource = Resource.create({SERVICE_NAME: "{{ cookiecutter.project_slug }}", SERVICE_VERSION: project_version()})
        # Resource.create gives OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES precedence over these.
        # The SDK's own atexit flush waits up to 30 s for a collector that does not answer: long
        # enough to stall every recycled Gunicorn worker. Ours gives up after SHUTDOWN_SECONDS.
        provider = TracerProvider(resource=resource, shutdown_on_exit=False)
        trace.set_tracer_provider(provider)
        atexit.register(shutdown, provider)
{%- if cookiecutter.database != "none" %}
        SQLAlchemyInstrumentor().instrument(tracer_provider=provider)
{%- endif %}
        URLLibInstrumentor().instrument(tracer_provider=provider)
    if processor is not None:  # none for OTEL_TRACES_EXPORTER=none: spans (and trace ids) without export
        provider.add_span_processor(processor)
    return provider


def shutdown(provider: TracerProvider) -> None:
    """Flush what the collector takes within SHUTDOWN_SECONDS, then let the process exit (the
    SDK's thread is a daemon thread)."""
    flushing = threading.Thread(target=provider.shutdown, name="otel-shutdown", daemon=True)
    with suppress(RuntimeError):  # Python >= 3.12 at interpreter exit: no new thread (and no flush)
        flushing.start()
        flushing.join(SHUTDOWN_SECONDS)


def init_app(app: Flask) -> None:
    """A span per request of this app, on the process's provider (a no-op one until start())."""

    @app.before_request  # before the instrumentation's own hook
    def trace_refused_hosts_too() -> None:
        """Flask refuses a Host outside TRUSTED_HOSTS (a 400, raised after the before_request
        hooks); until then request.url raises for it, and the instrumentation reads request.url
        in its hooks, past every error handler (a 500). Flask has checked: let it be read."""
        if isinstance(request.routing_exception, SecurityError):
            request.trusted_hosts = None

    FlaskInstrumentor().instrument_app(app, excluded_urls=EXCLUDED_URLS)  # type: ignore[no-untyped-call]


def current_trace_id() -> str:
    """The current span's trace id as 32 hex digits, or "-" outside a sampled span."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else "-"
