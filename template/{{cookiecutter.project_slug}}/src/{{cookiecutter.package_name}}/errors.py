"""JSON error responses. No stack trace ever reaches a client; 500s are logged with one."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.exceptions import HTTPException, InternalServerError


def error_body(code: int, name: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "name": name, "message": message}}


def handle_http_error(error: HTTPException) -> tuple[dict[str, Any], int]:
    """400, 404, 405, 413, ...: the status and Werkzeug's description, as JSON."""
    code = error.code or 500
    return error_body(code, error.name, error.description or error.name), code


def handle_internal_error(error: InternalServerError) -> tuple[dict[str, Any], int]:
    """Unhandled exceptions end here (Flask logs them with the traceback first)."""
    return error_body(500, "Internal Server Error", "the server failed; the error was logged"), 500


def register(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(InternalServerError, handle_internal_error)
