"""Finishing touches to the API contract apiflask makes from the routes (/openapi.json), and the
one way a request body is read for it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apiflask import APIFlask
from apiflask.fields import Integer
from apiflask.schema_adapters.marshmallow import parser
from flask import Request, abort
from webargs.core import missing


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


def load_json(request: Request, schema: Any) -> Any:
    """The body of a route declared with `input(..., location="json")`, parsed by Flask's
    get_json: a body that is not JSON is a 400, including one nested past Python's recursion
    limit and one with an integer of over 4,300 digits, which webargs' own loader (json.loads)
    lets escape as 500s. No JSON body at all: the schema's required fields report it (422)."""
    if not request.is_json or not request.get_data(cache=True):
        return missing
    try:
        return request.get_json()
    except RecursionError:
        abort(400, description="The JSON body is nested too deeply.")


def init_app(app: APIFlask) -> None:
    app.spec_processor(require_bodies)
    parser.location_loader("json")(load_json)  # webargs' hook for a location's loader
