"""The example resource: list, create and get items as JSON."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .extensions import db
from .models import NAME_MAX_LENGTH, Item

bp = Blueprint("items", __name__, url_prefix="/items")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_OFFSET = 1_000_000
MAX_ID = 2**31 - 1
"""The largest id a PostgreSQL `integer` column holds; larger ids in a URL are simply not found."""


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def query_int(name: str, default: int, low: int, high: int) -> int:
    """An integer query argument from low to high; 400 naming the range otherwise."""
    raw = request.args.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10 and low <= int(raw) <= high):
        abort(400, description=f"'{name}' must be an integer from {low} to {high}")
    return int(raw)


def valid_name(value: object) -> str | None:
    """The stripped name, or None unless it is 1..NAME_MAX_LENGTH printable characters
    (str.isprintable refuses NUL and other control characters, and lone surrogates, which
    PostgreSQL cannot store)."""
    if not isinstance(value, str):
        return None
    name = value.strip()
    return name if 0 < len(name) <= NAME_MAX_LENGTH and name.isprintable() else None


@bp.get("")
def list_items() -> dict[str, Any]:
    limit = query_int("limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    offset = query_int("offset", 0, 0, MAX_OFFSET)
    rows = db.session.scalars(select(Item).order_by(Item.id).limit(limit).offset(offset))
    return {"items": [item.to_dict() for item in rows], "limit": limit, "offset": offset}


@bp.post("")
def create_item() -> tuple[dict[str, Any], int, dict[str, str]]:
    payload = request.get_json(silent=True)
    name = valid_name(payload.get("name") if isinstance(payload, dict) else None)
    if name is None:
        abort(400, description=f"'name' must be 1 to {NAME_MAX_LENGTH} printable characters")
    item = Item(name=name)
    db.session.add(item)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        abort(409, description=f"an item named {name!r} already exists")
    return item.to_dict(), 201, {"Location": url_for("items.get_item", item_id=item.id)}


@bp.get(f"/<int(max={MAX_ID}):item_id>")
def get_item(item_id: int) -> dict[str, Any]:
    item = db.session.get(Item, item_id)
    if item is None:
        abort(404, description=f"no item with id {item_id}")
    return item.to_dict()
