"""asyncpg pools of the service's own beside SQLAlchemy's engine, for the two statements of every audited read.

On PostgreSQL every audited read runs the same two statements: its query and the group commit's queue INSERT.
Through the async engine each costs far more than the database's work: a session, a pool checkout, greenlet
switches, statement construction and caching, result processing, and (outside AUTOCOMMIT) a BEGIN and COMMIT.
With the log's other work, these were most of an audited read's CPU, and one event loop does all of it. A
`RawPool` is an asyncpg pool with the engine's connection settings (host, database, user, password, TLS, server
settings) for precompiled statements that run outside any transaction. The rest of the service stays on the
engine.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ("ERRORS", "RawPool", "usable")

try:
    import asyncpg

    ERRORS: tuple[type[Exception], ...] = (asyncpg.PostgresError, asyncpg.InterfaceError)
except ImportError:  # pragma: no cover - PostgreSQL support not installed
    asyncpg = None
    ERRORS = ()


def usable(engine: AsyncEngine) -> bool:
    """Whether `engine` talks to PostgreSQL through asyncpg (a `RawPool` can reach the same database)."""
    return engine.dialect.name == "postgresql" and engine.dialect.driver == "asyncpg" and asyncpg is not None


class RawPool:
    """An asyncpg pool on the engine's database, opened on first use.

    Its connections are never reset when they go back to the pool: asyncpg would spend a round trip on it
    (unlock, close cursors, unlisten, reset settings), and statements outside a transaction leave nothing to
    reset. Each query may take up to `timeout` seconds, and so may opening a connection.

    Args:
        engine: the service's engine (a `usable` one).
        max_size: most connections open at once.
        timeout: seconds for a connection and for a query.
    """

    def __init__(self, engine: AsyncEngine, max_size: int, timeout: float = 5.0) -> None:
        self.engine = engine
        self._max_size = max_size
        self._timeout = timeout
        self._pool: Any = None  # asyncpg.Pool, once opened
        self._opening = asyncio.Lock()

    async def get(self) -> Any:
        """The pool (an `asyncpg.Pool`), opened now if it is not yet."""
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    args, options = self.engine.dialect.create_connect_args(self.engine.url)
                    for adapter_only in ("prepared_statement_cache_size", "prepared_statement_name_func"):
                        options.pop(adapter_only, None)  # SQLAlchemy's adapter takes these, asyncpg does not
                    self._pool = await asyncpg.create_pool(
                        *args,
                        **options,
                        min_size=0,
                        max_size=self._max_size,
                        timeout=self._timeout,
                        command_timeout=self._timeout,
                        reset=_keep,
                    )
        return self._pool

    async def close(self) -> None:
        """Close the pool's connections (the app's shutdown); a later `get` opens it again."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()


async def _keep(_connection: Any) -> None:
    """No reset when a connection goes back to the pool (see `RawPool`)."""
