{%- set db = cookiecutter.database != "none" -%}
{%- set tq = cookiecutter.task_queue -%}
"""JSON error responses. No stack trace ever reaches a client; 500s are logged with one.

A dependency that is down or too slow (the database, the broker) is a 503 with Retry-After,
logged as one warning line: it is an outage to wait out, not a bug in this code.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app
{%- if tq == "celery" %}
from kombu.exceptions import OperationalError as BrokerError
{%- endif %}
{%- if tq != "none" %}
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
{%- endif %}
{%- if db %}
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
{%- endif %}
from werkzeug.exceptions import HTTPException, InternalServerError
{%- if cookiecutter.database == "postgresql" %}

from .deadlines import DatabaseUnavailable
{%- endif %}

RETRY_AFTER_SECONDS = 5
# The exceptions that mean "a dependency is down or missed its deadline".
{%- if not db and tq == "none" %}
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = ()  # this variant has no dependency
{%- else %}
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
{%- if db %}
    OperationalError,
    PoolTimeoutError,
{%- endif %}
{%- if cookiecutter.database == "postgresql" %}
    DatabaseUnavailable,
{%- endif %}
{%- if tq != "none" %}
    RedisConnectionError,
    RedisTimeoutError,
{%- endif %}
{%- if tq == "celery" %}
    BrokerError,
{%- endif %}
)
{%- endif %}


def error_body(code: int, name: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "name": name, "message": message}}


def handle_http_error(error: HTTPException) -> tuple[dict[str, Any], int]:
    """400, 404, 405, 413, ...: the status and Werkzeug's description, as JSON."""
    code = error.code or 500
    return error_body(code, error.name, error.description or error.name), code


def handle_internal_error(error: InternalServerError) -> tuple[dict[str, Any], int]:
    """Unhandled exceptions end here (Flask logs them with the traceback first)."""
    return error_body(500, "Internal Server Error", "the server failed; the error was logged"), 500


def handle_unavailable(error: Exception) -> tuple[dict[str, Any], int, dict[str, str]]:
    """A dependency is down: 503, and the reason in the log (one line, no traceback)."""
    reason = (str(error).splitlines() or [""])[0]
    current_app.logger.warning("dependency unavailable: %s: %s", type(error).__name__, reason)
    body = error_body(503, "Service Unavailable", "a dependency is unavailable; retry later")
    return body, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def register(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(InternalServerError, handle_internal_error)
    for error in UNAVAILABLE_ERRORS:
        app.register_error_handler(error, handle_unavailable)
