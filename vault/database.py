"""The database: engine, sessions, and transactions whose infrastructure failures become 503s."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from sqlalchemy import event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from vault.errors import DatabaseUnavailable

__all__ = ("Database", "create_engine")


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; SQLite gets foreign keys on, a busy timeout and WAL so readers don't block writers."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_timeout", 5)
    connect_args = kwargs.pop("connect_args", {"timeout": 5, "command_timeout": 30})
    return create_async_engine(url, connect_args=connect_args, **kwargs)


class Database:
    """Sessions for services. A transaction commits on success and maps connection failures to 503."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)

    @contextlib.asynccontextmanager
    async def transaction(
        self, on_failure: Callable[[], Awaitable[object]] | None = None
    ) -> AsyncIterator[AsyncSession]:
        """A session in a transaction; `on_failure` runs (best effort) when it does not commit."""
        try:
            async with self.sessions() as session, session.begin():
                yield session
        except (sa_exc.OperationalError, sa_exc.InterfaceError, OSError, TimeoutError) as exc:
            if on_failure is not None:
                await on_failure()
            raise DatabaseUnavailable() from exc
        except sa_exc.DBAPIError as exc:
            if on_failure is not None:
                await on_failure()
            if exc.connection_invalidated:
                raise DatabaseUnavailable() from exc
            raise
        except BaseException:
            if on_failure is not None:
                await on_failure()
            raise

    async def check(self) -> None:
        """Raise DatabaseUnavailable unless a trivial query answers."""
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except (sa_exc.SQLAlchemyError, OSError, TimeoutError) as exc:
            raise DatabaseUnavailable() from exc

    async def dispose(self) -> None:
        await self.engine.dispose()
