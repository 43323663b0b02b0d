"""Finishing touches to the API contract apiflask makes from the routes (/openapi.json)."""

from __future__ import annotations

from typing import Any

from apiflask import APIFlask


def require_bodies(spec: dict[Any, Any] | str) -> dict[Any, Any] | str:
    """Mark a JSON request body required when its schema has required fields: apiflask leaves
    every body optional, so the contract would promise that an empty POST is valid."""
    if isinstance(spec, str):  # SPEC_FORMAT yaml: nothing to change in a text
        return spec
    schemas = spec.get("components", {}).get("schemas", {})
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if body is None:
                continue
            schema = body.get("content", {}).get("application/json", {}).get("schema", {})
            name = schema.get("$ref", "").rpartition("/")[2]
            if schemas.get(name, schema).get("required"):
                body["required"] = True
    return spec


def init_app(app: APIFlask) -> None:
    app.spec_processor(require_bodies)
