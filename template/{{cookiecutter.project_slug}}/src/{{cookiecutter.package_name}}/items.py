"""The example resource: list, create and get items as JSON.

The schemas below are the API contract: apiflask validates each request against them (422 with
the reasons per field) and documents them in /openapi.json.
"""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import DateTime, Integer, List, Nested, String
from apiflask.validators import Length, Range
from flask import Flask, abort, url_for
from marshmallow import ValidationError, post_load
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

{% if cookiecutter.auth == "oidc" %}from .auth import require_auth
{% endif %}from .extensions import db
from .models import NAME_MAX_LENGTH, Item

bp = APIBlueprint("items", __name__, url_prefix="/items")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_OFFSET = 1_000_000
MAX_ID = 2**31 - 1
"""The largest id a PostgreSQL `integer` column holds; larger ids in a URL are simply not found."""


def printable(name: str) -> None:
    """A name is for people to read. str.isprintable is False for control characters and line
    breaks, for every space but " ", for the invisible and direction-changing characters that make
    two names look alike (zero-width, bidi controls), and for lone surrogates."""
    if not name.isprintable() or name.isspace():
        raise ValidationError("must be visible characters (and spaces), not only spaces")


class ItemIn(Schema):
    name = String(
        required=True,
        validate=[Length(min=1, max=NAME_MAX_LENGTH), printable],
        # The rule above, named for clients (tests/test_contract.py generates names from it).
        metadata={
            "description": f"1 to {NAME_MAX_LENGTH} visible characters; leading and trailing spaces are dropped",
            "format": "printable",
        },
    )

    @post_load
    def strip_name(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {**data, "name": data["name"].strip(" ")}


class ItemOut(Schema):
    id = Integer(required=True)
    name = String(required=True)
    created_at = DateTime(required=True)


class Page(Schema):
    limit = Integer(load_default=DEFAULT_PAGE_SIZE, validate=Range(min=1, max=MAX_PAGE_SIZE))
    offset = Integer(load_default=0, validate=Range(min=0, max=MAX_OFFSET))


class ItemPage(Schema):
    items = List(Nested(ItemOut), required=True)
    limit = Integer(required=True)
    offset = Integer(required=True)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.post("")
{%- if cookiecutter.auth == "oidc" %}
@require_auth("items:write")  # outermost: a request without a valid token is a 401 before validation
{%- endif %}
@bp.input(ItemIn, location="json")
@bp.output(ItemOut, status_code=201, headers={"Location": String(metadata={"description": "The new item's URL"})})
@bp.doc(
    responses={
        201: "The item was created",
        400: "The body is not JSON",
{%- if cookiecutter.auth == "oidc" %}
        401: "No valid bearer token",
        403: "The token lacks the items:write scope",
{%- endif %}
        409: "An item with this name exists",
        413: "The body is too large",
        503: "The database is unavailable",
    },
{%- if cookiecutter.auth == "oidc" %}
    security="bearer",
{%- endif %}
)
def create_item(json_data: dict[str, str]) -> tuple[dict[str, Any], int, dict[str, str]]:
    item = Item(name=json_data["name"])
    db.session.add(item)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        abort(409, description=f"an item named {item.name!r} already exists")
    return item.to_dict(), 201, {"Location": url_for("items.get_item", item_id=item.id)}


@bp.get(f"/<int(max={MAX_ID}):item_id>")
@bp.output(ItemOut)
@bp.doc(responses={200: "The item", 404: "No item has this id", 503: "The database is unavailable"})
def get_item(item_id: int) -> dict[str, Any]:
    item = db.session.get(Item, item_id)
    if item is None:
        abort(404, description=f"no item with id {item_id}")
    return item.to_dict()


# Declared after the routes that output ItemOut itself: apiflask 3.1 registers a schema a second
# time (ItemOut1, and a warning) when it first met it nested in another one.
@bp.get("")
@bp.input(Page, location="query")
@bp.output(ItemPage)
@bp.doc(responses={200: "A page of items, oldest first", 503: "The database is unavailable"})
def list_items(query_data: dict[str, int]) -> dict[str, Any]:
    limit, offset = query_data["limit"], query_data["offset"]
    rows = db.session.scalars(select(Item).order_by(Item.id).limit(limit).offset(offset))
    return {"items": [item.to_dict() for item in rows], "limit": limit, "offset": offset}
