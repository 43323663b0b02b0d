"""Database models. Keep migrations/ in step: `flask --app {{ cookiecutter.package_name }}.cli db migrate`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, String, func
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from .extensions import Base

NAME_MAX_LENGTH = 200


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is timezone-aware on every database. SQLite keeps no offset, and what it
    returns is UTC (CURRENT_TIMESTAMP): made aware here, so the API always sends an RFC 3339
    date-time with its offset, as openapi.json promises."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value  # type: ignore[no-any-return]


class Item(Base):
    """The example resource."""

    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())

    def to_dict(self) -> dict[str, Any]:
        """The item as the API shows it (items.ItemOut formats the values)."""
        return {"id": self.id, "name": self.name, "created_at": self.created_at}
