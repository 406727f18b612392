"""The declarative base every model of the service shares, with portable column types only."""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

__all__ = ("Base",)

# Stable constraint names so Alembic migrations (and SQLite batch rebuilds) are deterministic.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Root of the ORM models. Use `advanced_alchemy.types` (GUID, DateTimeUTC) and SQLAlchemy core types."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
