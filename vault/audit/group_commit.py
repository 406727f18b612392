"""Group commit of queue appends made outside a caller's transaction (reads, denied attempts).

Many concurrent requests each need one queue row committed before they answer. One transaction per row makes
them queue for the database's write lock (SQLite) or pay a commit each (PostgreSQL); instead, one writer task
per process inserts every row waiting at that moment with one statement in one transaction, and each request
awaits the commit that carried its row. While a transaction is in flight the next rows gather, so a lone request
is written at once and a busy process writes many per commit: no timer, no added latency.

The INSERT runs on a connection of the committer's own, not through the engine: on PostgreSQL (asyncpg) a
`vault.core.raw_pg.RawPool` connection, outside any transaction (one precompiled statement that commits on its
own, `queue.PG_ENQUEUE_MANY`); on a SQLite file a `vault.core.raw_sqlite.RawSqlite` connection in its own
thread (one transaction, one thread hop). Anything else (an in-memory database) goes through the engine.

The guarantee is unchanged: `append` returns only after the row committed (the entry is durable before the
response goes out), and raises when its transaction failed (fail closed: every row of that transaction is
rolled back together and every waiting request gets the error).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vault.audit import queue
from vault.audit.entry import AuditEvent
from vault.audit.errors import AuditUnavailable
from vault.audit.log import guarded
from vault.core import raw_pg, raw_sqlite
from vault.core.batching import Batcher

__all__ = ("GroupCommitter",)

MAX_ROWS = 500


class GroupCommitter:
    """Commits queued entries of concurrent callers together; one writer task per event loop.

    Args:
        sessions: sessions on the service database.
        committed: called after each transaction that committed rows (wakes the integrator).
        max_rows: most rows in one transaction.
        sqlite_writes: on SQLite, held around each transaction (the integrator's `writes`: this process's other
            frequent writer).
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        committed: Callable[[], None],
        max_rows: int = MAX_ROWS,
        sqlite_writes: asyncio.Lock | None = None,
    ) -> None:
        self._sessions = sessions
        self._committed = committed
        self._batches: Batcher[AuditEvent, int] = Batcher(
            self._carry,
            max_items=max_rows,
            name="audit-group-commit",
            abandoned=lambda: AuditUnavailable("audit append abandoned at shutdown"),
        )
        self._sqlite_writes = sqlite_writes or asyncio.Lock()
        engine = sessions.kw.get("bind")
        self._raw = raw_pg.RawPool(engine, max_size=1) if engine is not None and raw_pg.usable(engine) else None
        self._sqlite = raw_sqlite.RawSqlite(engine) if engine is not None and raw_sqlite.usable(engine) else None
        # how one transaction's rows are inserted (and committed): their queue ids, in order
        self.insert: Callable[[list[AuditEvent]], Awaitable[list[int]]] = (
            self._insert_raw if self._raw else self._insert_sqlite if self._sqlite else self._commit
        )

    async def append(self, event: AuditEvent) -> int:
        """Queue `event` and return its queue id once the transaction that carried it committed (a request that
        goes away does not cancel the transaction carrying other requests' rows).

        Raises:
            AuditUnavailable: when that transaction failed (nothing of it was committed).
        """
        return await self._batches.submit(event)

    async def _carry(self, events: list[AuditEvent]) -> list[int]:
        """One transaction with every row waiting."""
        try:
            ids = await self.insert(events)
        except AuditUnavailable:
            raise
        except Exception as exc:
            raise AuditUnavailable("audit append failed") from exc
        self._committed()
        return ids

    async def _commit(self, events: list[AuditEvent]) -> list[int]:
        async def work() -> list[int]:
            async with self._sessions() as session:
                if queue.dialect_name(session) == "postgresql":
                    # one INSERT commits or fails whole on its own: no BEGIN and COMMIT round trips around it
                    await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
                    return await queue.enqueue_many(session, events)
                async with session.begin():
                    return await queue.enqueue_many(session, events)

        return await guarded(work(), "audit append")

    async def _insert_raw(self, events: list[AuditEvent]) -> list[int]:
        assert self._raw is not None
        return await queue.enqueue_many_raw(await self._raw.get(), events)  # `_carry` translates its errors

    async def _insert_sqlite(self, events: list[AuditEvent]) -> list[int]:
        assert self._sqlite is not None
        async with self._sqlite_writes:
            return await self._sqlite.run(queue.enqueue_many_sqlite(events))  # `_carry` translates its errors

    async def close(self) -> None:
        """Let the writer finish what is waiting, then close the committer's own connection (call at shutdown)."""
        await self._batches.close()
        if self._raw is not None:
            await self._raw.close()
        if self._sqlite is not None:
            await self._sqlite.close()
