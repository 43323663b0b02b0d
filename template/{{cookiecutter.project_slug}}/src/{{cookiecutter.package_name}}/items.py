"""The example resource: list, create and get items as JSON."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .extensions import db
from .models import NAME_MAX_LENGTH, Item

bp = Blueprint("items", __name__, url_prefix="/items")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@bp.get("")
def list_items() -> dict[str, Any]:
    limit = min(request.args.get("limit", DEFAULT_PAGE_SIZE, type=int) or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    offset = max(request.args.get("offset", 0, type=int) or 0, 0)
    rows = db.session.scalars(select(Item).order_by(Item.id).limit(limit).offset(offset))
    return {"items": [item.to_dict() for item in rows], "limit": limit, "offset": offset}


@bp.post("")
def create_item() -> tuple[dict[str, Any], int, dict[str, str]]:
    payload = request.get_json(silent=True)
    name = payload.get("name") if isinstance(payload, dict) else None
    if not isinstance(name, str) or not name.strip() or len(name) > NAME_MAX_LENGTH:
        abort(400, description=f"'name' must be a non-empty string of at most {NAME_MAX_LENGTH} characters")
    item = Item(name=name.strip())
    db.session.add(item)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        abort(409, description=f"an item named {name.strip()!r} already exists")
    return item.to_dict(), 201, {"Location": url_for("items.get_item", item_id=item.id)}


@bp.get("/<int:item_id>")
def get_item(item_id: int) -> dict[str, Any]:
    item = db.session.get(Item, item_id)
    if item is None:
        abort(404, description=f"no item with id {item_id}")
    return item.to_dict()
