"""The base of every repository: advanced-alchemy's async repository over the caller's unit of work."""

from __future__ import annotations

from typing import Any, TypeVar

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("Repository",)

ModelT = TypeVar("ModelT", bound=Any)


class Repository(SQLAlchemyAsyncRepository[ModelT]):
    """Queries of one model inside a session that `Database.transaction()` opened (it commits, not us).

    Exceptions are not wrapped: the unit of work maps driver failures to 503 in one place
    (`vault.core.database.Database.transaction`), and a wrapped error would escape that mapping.
    """

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session=session, wrap_exceptions=False, auto_refresh=False, auto_commit=False)
        self.session = session
