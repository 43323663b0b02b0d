"""JSON error responses. No stack trace ever reaches a client; 500s are logged with one.

Every error has one shape, `{"error": {"code", "name", "message"}}`, and a request that fails
validation against the API contract (apiflask/webargs) is a 422 with the reasons per field in
`error.detail`. openapi.json documents the same shapes (error_schema).

A dependency that is down or too slow (the database, the broker) is a 503 with Retry-After,
logged as one warning line: it is an outage to wait out, not a bug in this code. Each module
that talks to a dependency registers its exceptions with `handle_unavailable` in its own
`init_app`.
"""

from __future__ import annotations

from typing import Any

from apiflask import APIFlask, HTTPError
from flask import current_app
from werkzeug import http
from werkzeug.exceptions import HTTPException

RETRY_AFTER_SECONDS = 5


def error_schema(*, validation: bool = False) -> dict[str, Any]:
    """The JSON schema of error bodies in openapi.json; with validation, of a 422's (the
    reasons in detail: location ("json", "query") -> field -> messages)."""
    fields: dict[str, Any] = {"code": {"type": "integer"}, "name": {"type": "string"}, "message": {"type": "string"}}
    if validation:
        fields["detail"] = {"type": "object", "additionalProperties": {"type": "object"}}
    error = {"type": "object", "required": list(fields), "properties": fields}
    return {"type": "object", "required": ["error"], "properties": {"error": error}}


def error_body(code: int, name: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "name": name, "message": message}}


def handle_http_error(error: HTTPException) -> tuple[dict[str, Any], int, list[tuple[str, str]]]:
    """400, 404, 405, 413, ...: the status and Werkzeug's description, as JSON, with the
    exception's own headers (Allow on a 405, WWW-Authenticate on a 401). An unhandled exception
    ends here too, as Werkzeug's InternalServerError (Flask logs it with the traceback first)."""
    code = error.code or 500
    headers = [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]
    return error_body(code, error.name, error.description or error.name), code, headers


def handle_api_error(error: HTTPError) -> tuple[dict[str, Any], int, Any]:
    """apiflask's errors: a request that does not match the contract (422, reasons in detail)."""
    code = error.status_code
    body = error_body(code, http.HTTP_STATUS_CODES.get(code, "Error"), error.message or "the request is invalid")
    if error.detail:
        body["error"]["detail"] = error.detail
    return body, code, error.headers


def handle_unavailable(error: Exception) -> tuple[dict[str, Any], int, dict[str, str]]:
    """A dependency is down: 503, and the reason in the log (one line, no traceback)."""
    reason = (str(error).splitlines() or [""])[0]
    current_app.logger.warning("dependency unavailable: %s: %s", type(error).__name__, reason)
    body = error_body(503, "Service Unavailable", "a dependency is unavailable; retry later")
    return body, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def init_app(app: APIFlask) -> None:
    app.config["HTTP_ERROR_SCHEMA"] = error_schema()
    app.config["VALIDATION_ERROR_SCHEMA"] = error_schema(validation=True)
    # error_processor also claims Werkzeug's exceptions, so Werkzeug's handler is registered after
    # it: the descriptions given to abort() reach the client, which apiflask's would drop.
    app.error_processor(handle_api_error)
    app.register_error_handler(HTTPException, handle_http_error)
