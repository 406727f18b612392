"""The database: engine, sessions, and transactions whose infrastructure failures become 503s."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event, make_url, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import PoolResetState

from vault.core.errors import DatabaseUnavailable
from vault.core.sqlite_driver import OneHopDBAPI
from vault.core.tracing import child_span

__all__ = ("SQLITE_PRAGMAS", "Database", "create_engine")

log = logging.getLogger(__name__)

_PING_AFTER = 1.0  # seconds a pooled PostgreSQL connection may sit idle before it is pinged at checkout


# every connection to a SQLite file, the engine's and the service's own (`vault.core.raw_sqlite`)
SQLITE_PRAGMAS = (
    "PRAGMA foreign_keys=ON",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA secure_delete=ON",
)


def _private_sqlite_file(url: str) -> None:
    """Create the SQLite file 0600 before SQLite does (its WAL and shared-memory files copy the mode)."""
    path = url.split(":///", 1)[-1]
    if not path or path == ":memory:" or Path(path).exists():
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def create_engine(url: str, *, pool_size: int = 10, pool_timeout: float = 5.0, **kwargs: Any) -> AsyncEngine:
    """An async engine; SQLite gets foreign keys on, a busy timeout, WAL so readers don't block writers, and
    `secure_delete` so erased rows are overwritten, not left in free pages.

    The pool keeps `pool_size` connections and opens no others (`max_overflow=0`): a request waits up to
    `pool_timeout` for one (then 503). With an overflow, every burst past the pool size opened connections
    that were closed again on return: a new PostgreSQL session, or on SQLite a new thread, pragmas and
    functions, per request under load."""
    kwargs.setdefault("max_overflow", 0)
    kwargs.setdefault("pool_size", pool_size)
    kwargs.setdefault("pool_timeout", pool_timeout)
    if url.startswith("sqlite"):
        _private_sqlite_file(url)
        if ":memory:" in url or url.rstrip("/").endswith(":"):  # an in-memory database: one static connection
            for name in ("max_overflow", "pool_size", "pool_timeout"):
                kwargs.pop(name)
        # the pool's own rollback-on-return is a thread hop per checkout even after a COMMIT: `_rollback_if_open`
        # below rolls back only a transaction actually left open
        kwargs.setdefault("pool_reset_on_return", None)
        if make_url(url).get_driver_name() == "aiosqlite":
            kwargs.setdefault("module", OneHopDBAPI())  # one thread hop per statement, not four
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "reset")
        def _rollback_if_open(dbapi_connection: Any, _record: Any, state: PoolResetState) -> None:
            if state.terminate_only or not state.asyncio_safe:
                return  # the pool discards this connection (SQLAlchemy's own reset returns here too)
            if dbapi_connection.driver_connection.in_transaction:  # sqlite3's flag, read without a thread hop
                dbapi_connection.rollback()

        # A transaction that only read began none (sqlite3 begins one before the first write): its COMMIT would be
        # a thread hop to do nothing, like sqlite3's own commit() outside a transaction. The same for the ROLLBACK
        # that ends every read-only connection or session (SQLAlchemy ends what it began, whether or not the
        # database began anything).
        dialect = engine.sync_engine.dialect
        dialect.do_commit = _only_if_begun(dialect.do_commit)  # type: ignore[method-assign,assignment]
        dialect.do_rollback = _only_if_begun(dialect.do_rollback)  # type: ignore[method-assign,assignment]

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            for pragma in SQLITE_PRAGMAS:
                cursor.execute(pragma)
            cursor.close()

        return engine
    connect_args = kwargs.pop("connect_args", {"timeout": 5, "command_timeout": 30})
    engine = create_async_engine(url, connect_args=connect_args, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_idle_connections(engine)
    return engine


def _only_if_begun(end: Callable[[Any], None]) -> Callable[[Any], None]:
    """A dialect's COMMIT or ROLLBACK, sent only when the sqlite3 connection has a transaction open (its flag is
    read without a thread hop)."""

    def ended(dbapi_connection: Any) -> None:
        if dbapi_connection.driver_connection.in_transaction:
            end(dbapi_connection)

    return ended


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """Ping a pooled connection at checkout only when it sat idle for `_PING_AFTER` seconds.

    SQLAlchemy's `pool_pre_ping` pings at every checkout, and asyncpg's ping is three round trips (BEGIN, an
    empty statement, ROLLBACK): more than the read it precedes. A connection handed back moments ago is as good as
    a ping; one idle longer (a database restarted meanwhile, an idle timeout) is pinged, and a dead one is replaced
    (the pool reconnects; a database still down answers 503). A restart within the last second before a checkout
    surfaces as one failed statement, which invalidates the whole pool: one 503, then fresh connections."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _idle_since(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)  # None: connected just now
        if idle_since is None or time.monotonic() - idle_since < _PING_AFTER:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:  # the pool discards this connection and checks out (or opens) another
            raise sa_exc.DisconnectionError("connection failed its ping") from exc


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
