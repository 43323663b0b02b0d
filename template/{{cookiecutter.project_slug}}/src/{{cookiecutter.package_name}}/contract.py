"""Finishing touches to the API contract apiflask makes from the routes (/openapi.json)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apiflask import APIFlask
from apiflask.fields import Integer


class WholeNumber(Integer):
    """An integer as the contract's `type: integer` means it, and nothing looser: in JSON an
    int or an integral number (7.0, which JSON Schema counts as an integer), never true/false or
    a string; in a query string (in_query) ASCII digits only. marshmallow's Integer either refuses
    7.0 (strict) or silently truncates 7.5 and takes "10", "１" (fullwidth), "1_000" and " 5"."""

    def __init__(self, *, in_query: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.in_query = in_query

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise self.make_error("invalid")
        if isinstance(value, str) and not (self.in_query and value.isascii() and value.isdigit()):
            raise self.make_error("invalid")
        return super()._deserialize(int(value) if isinstance(value, float) else value, attr, data, **kwargs)


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
