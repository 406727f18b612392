"""The database: engine, sessions, and transactions whose infrastructure failures become 503s."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from vault.core.errors import DatabaseUnavailable
from vault.core.tracing import child_span

__all__ = ("Database", "create_engine")

log = logging.getLogger(__name__)


def _private_sqlite_file(url: str) -> None:
    """Create the SQLite file 0600 before SQLite does (its WAL and shared-memory files copy the mode)."""
    path = url.split(":///", 1)[-1]
    if not path or path == ":memory:" or Path(path).exists():
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def create_engine(url: str, *, pool_size: int = 10, pool_timeout: float = 5.0, **kwargs: Any) -> AsyncEngine:
    """An async engine; SQLite gets foreign keys on, a busy timeout, WAL so readers don't block writers, and
    `secure_delete` so erased rows are overwritten, not left in free pages."""
    if url.startswith("sqlite"):
        _private_sqlite_file(url)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", pool_size)
    kwargs.setdefault("pool_timeout", pool_timeout)
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
            with child_span("db.transaction"):
                async with self.sessions() as session, session.begin():
                    yield session
        except (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError, OSError, TimeoutError) as exc:
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

    async def erased(self) -> None:
        """Make an erasure reach the disk. SQLite keeps deleted rows in its WAL until a checkpoint: checkpoint
        and truncate it (with `secure_delete` on, the freed pages are zeroed). PostgreSQL: see SECURITY.md."""
        if self.engine.dialect.name != "sqlite":
            return
        try:
            async with self.engine.connect() as connection:
                await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        except sa_exc.SQLAlchemyError:  # a busy reader: the next erasure or SQLite's own checkpoint gets it
            log.warning("WAL checkpoint after an erasure did not complete")

    async def dispose(self) -> None:
        await self.engine.dispose()
