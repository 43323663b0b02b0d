"""The slow work itself, run by the task worker, never in a request.

Plain functions of their arguments: the queue module wraps them as jobs, and tests can call them
directly.
"""

from __future__ import annotations

import csv
import hashlib
import io
from typing import Any
{%- if cookiecutter.database != "none" %}

from sqlalchemy import select

from .extensions import db
from .models import Item
{%- endif %}


def build_export(rows: int) -> dict[str, Any]:
    """A CSV export of at most rows lines (the items, when there is a database), with its size."""
    out = io.StringIO()
    writer = csv.writer(out)
{%- if cookiecutter.database != "none" %}
    writer.writerow(["id", "name", "created_at"])
    count = 0
    for item in db.session.scalars(select(Item).order_by(Item.id).limit(rows)):
        writer.writerow([item.id, item.name, item.created_at.isoformat()])
        count += 1
{%- else %}
    writer.writerow(["n", "sha256"])
    for n in range(rows):
        writer.writerow([n, hashlib.sha256(str(n).encode()).hexdigest()])
    count = rows
{%- endif %}
    text = out.getvalue()
    return {"rows": count, "bytes": len(text), "sha256": hashlib.sha256(text.encode()).hexdigest(), "csv": text}
