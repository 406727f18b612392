"""The base of every repository: advanced-alchemy's async repository over the caller's unit of work."""

from __future__ import annotations

from typing import Any, TypeVar

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("Repository",)

ModelT = TypeVar("ModelT", bound=Any)


_BASE_STATEMENTS: dict[type[Any], Select[Any]] = {}


def _base_statement(model: type[Any]) -> Select[Any]:
    """`select(model)`, built once per model: advanced-alchemy builds it in every repository's constructor, and
    constructing a statement costs more than most queries on the hot paths (statements are immutable: sharing
    one is safe)."""
    statement = _BASE_STATEMENTS.get(model)
    if statement is None:
        statement = _BASE_STATEMENTS[model] = select(model)
    return statement


class Repository(SQLAlchemyAsyncRepository[ModelT]):
    """Queries of one model inside a session that `Database.transaction()` opened (it commits, not us).

    Exceptions are not wrapped: the unit of work maps driver failures to 503 in one place
    (`vault.core.database.Database.transaction`), and a wrapped error would escape that mapping.
    """

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(
            session=session,
            statement=_base_statement(self.model_type),
            wrap_exceptions=False,
            auto_refresh=False,
            auto_commit=False,
        )
        self.session = session
