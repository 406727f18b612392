"""Group commit of queue appends made outside a caller's transaction (reads, denied attempts).

Many concurrent requests each need one queue row committed before they answer. One transaction per row makes
them queue for the database's write lock (SQLite) or pay a commit each (PostgreSQL); instead, one writer task
per process inserts every row waiting at that moment with one statement in one transaction, and each request
awaits the commit that carried its row. While a transaction is in flight the next rows gather, so a lone request
is written at once and a busy process writes many per commit: no timer, no added latency.

The guarantee is unchanged: `append` returns only after the row committed (the entry is durable before the
response goes out), and raises when its transaction failed (fail closed: every row of that transaction is
rolled back together and every waiting request gets the error).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vault.audit import queue
from vault.audit.entry import AuditEvent
from vault.audit.errors import AuditUnavailable
from vault.audit.log import guarded

__all__ = ("GroupCommitter",)

MAX_ROWS = 500


class GroupCommitter:
    """Commits queued entries of concurrent callers together; one writer task per event loop.

    Args:
        sessions: sessions on the service database.
        committed: called after each transaction that committed rows (wakes the integrator).
        max_rows: most rows in one transaction.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        committed: Callable[[], None],
        max_rows: int = MAX_ROWS,
    ) -> None:
        if max_rows < 1:
            raise ValueError("max_rows must be positive")
        self._sessions = sessions
        self._committed = committed
        self._max_rows = max_rows
        self._waiting: list[tuple[AuditEvent, asyncio.Future[int]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def append(self, event: AuditEvent) -> int:
        """Queue `event` and return its queue id once the transaction that carried it committed.

        Raises:
            AuditUnavailable: when that transaction failed (nothing of it was committed).
        """
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append((event, future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write(), name="audit-group-commit")
        # shielded: a request that goes away does not cancel the transaction carrying other requests' rows
        return await asyncio.shield(future)

    async def _write(self) -> None:
        batch: list[tuple[AuditEvent, asyncio.Future[int]]] = []
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[: self._max_rows], self._waiting[self._max_rows :]
                try:
                    ids = await self._commit([event for event, _ in batch])
                except Exception as exc:
                    failure = exc if isinstance(exc, AuditUnavailable) else AuditUnavailable("audit append failed")
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(failure)
                    continue
                self._committed()
                for (_, future), queue_id in zip(batch, ids, strict=True):
                    if not future.done():
                        future.set_result(queue_id)
        finally:
            self._writer = None
            for _, future in batch + self._waiting:  # only when cancelled (shutdown): nobody writes these any more
                if not future.done():
                    future.set_exception(AuditUnavailable("audit append abandoned at shutdown"))
            self._waiting = []

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

    async def close(self) -> None:
        """Let the writer finish what is waiting (call at shutdown)."""
        writer = self._writer
        if writer is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await writer
