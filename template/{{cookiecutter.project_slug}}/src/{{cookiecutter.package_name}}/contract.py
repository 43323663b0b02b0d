"""Finishing touches to the API contract apiflask makes from the routes (/openapi.json), and the
rule every view shares for JSON bodies."""

from __future__ import annotations

from typing import Any

from apiflask import APIFlask
from flask import abort, request


def require_bodies(spec: dict[Any, Any] | str) -> dict[Any, Any] | str:
    """Mark a JSON request body required when its schema has required fields: apiflask leaves
    every body optional, so the contract would promise that an empty POST is valid."""
    if isinstance(spec, str):  # SPEC_FORMAT yaml: nothing to change in a text
        return spec
    schemas = spec.get("components", {}).get("schemas", {})
    for operations in spec["paths"].values():
        for operation in operations.values():
            body = operation.get("requestBody", {})
            schema = body.get("content", {}).get("application/json", {}).get("schema", {})
            if schemas.get(schema.get("$ref", "").rpartition("/")[2], schema).get("required"):
                body["required"] = True
    return spec


def read_json() -> None:
    """Parse a JSON body before the view runs, with Flask's get_json (a view's own call gets the
    cached result): a body that is not JSON is a 400 whatever the view, including one nested past
    Python's recursion limit, which json.loads raises as a RecursionError, not the ValueError that
    get_json answers with a 400."""
    if request.is_json and request.get_data(cache=True):
        try:
            request.get_json()
        except RecursionError:
            abort(400, description="The JSON body is nested too deeply.")


def init_app(app: APIFlask) -> None:
    app.spec_processor(require_bodies)
    app.before_request(read_json)
