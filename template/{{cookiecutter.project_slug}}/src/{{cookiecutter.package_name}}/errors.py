"""JSON error responses. No stack trace ever reaches a client; 500s are logged with one.

A dependency that is down or too slow (the database, the broker) is a 503 with Retry-After,
logged as one warning line: it is an outage to wait out, not a bug in this code. Each module
that talks to a dependency registers its exceptions with `handle_unavailable` in its own
`init_app`.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app
from werkzeug.exceptions import HTTPException, InternalServerError

RETRY_AFTER_SECONDS = 5


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


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(InternalServerError, handle_internal_error)
