"""The integrator: sequences the queue in batches, extends the Merkle tree and signs the new head.

One integrator works at a time per deployment. On PostgreSQL each batch is one transaction that first takes a
transaction-scoped advisory lock with `pg_try_advisory_xact_lock` (held only while integrating, released at
commit), with `lock_timeout` and `idle_in_transaction_session_timeout` set on that connection so an instance
cut off mid-batch cannot stall the others: the server ends its session and the next instance takes over. On
SQLite the batch's first statement takes the database write lock. Every instance runs the loop; whichever gets
the lock sequences everyone's entries.

The loop wakes when this process queues entries (after their transaction commits) and polls otherwise, so
entries queued by other instances are sequenced too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, false, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vault.audit import merkle, tree_store
from vault.audit.bundle import filter_columns
from vault.audit.entry import sequenced_entry
from vault.audit.errors import AuditError, AuditUnavailable
from vault.audit.log import AuditLog, guarded
from vault.audit.models import AuditCheckpointRow, AuditEntryRow, AuditHeadRow, AuditQueueRow
from vault.audit.queue import dialect_name, from_micros

__all__ = ("ADVISORY_LOCK_KEY", "Integrator", "IntegratorConfig")

logger = logging.getLogger(__name__)

# Constant key of the PostgreSQL advisory lock that elects the integrator ("vaultlog").
ADVISORY_LOCK_KEY = 0x7661756C746C6F67
_DELETE_CHUNK = 500
_LOCK_RETRY_SECONDS = 0.02
_ENTRY_TABLE = cast(Table, AuditEntryRow.__table__)


@dataclass(frozen=True)
class IntegratorConfig:
    """How the integrator batches and waits.

    Attributes:
        batch_size: most entries sequenced in one transaction.
        poll_interval: seconds between looks at the queue when this process queued nothing.
        checkpoint_interval: seconds between checkpoints kept in the history (the head is signed every batch).
        lock_timeout_ms: PostgreSQL `lock_timeout` of the integrating transaction.
        idle_timeout_ms: PostgreSQL `idle_in_transaction_session_timeout` of the integrating transaction.
        linger: seconds to wait after a wake-up before integrating, so that one batch gathers more entries.
    """

    batch_size: int = 1000
    poll_interval: float = 0.25
    checkpoint_interval: float = 300.0
    lock_timeout_ms: int = 2000
    idle_timeout_ms: int = 5000
    linger: float = 0.25

    def __post_init__(self) -> None:
        """Refuse settings the loop cannot run with."""
        if self.batch_size < 1 or self.poll_interval <= 0 or self.checkpoint_interval <= 0 or self.linger < 0:
            raise ValueError("batch size, poll interval and checkpoint interval must be positive")
        if self.lock_timeout_ms < 1 or self.idle_timeout_ms < 1:
            raise ValueError("the integrator's PostgreSQL timeouts must be positive")


class Integrator:
    """Sequences queued entries in batches; `start` and `stop` run its loop (call them from the app lifespan).

    Args:
        sessions: sessions on the service database.
        open_log: returns the audit log (its origin and signing key), opened on first use.
        config: batching and timeouts.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        open_log: Callable[[], Awaitable[AuditLog]],
        config: IntegratorConfig | None = None,
    ) -> None:
        self._sessions = sessions
        self._open_log = open_log
        self.config = config or IntegratorConfig()
        # held while this process integrates; on SQLite also by the group commit's own writes (`writes`)
        self._local = asyncio.Lock()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def writes(self) -> asyncio.Lock:
        """Held while this process integrates a batch. SQLite has one writer at a time, and a writer that finds
        the database locked retries on a timer (1, 2, 5, 10, 15, 20, 25 ms ... apart): in one process, taking
        this lock first makes the other writer start the moment the batch commits instead."""
        return self._local

    def wake(self) -> None:
        """Ask the loop to integrate now (called when this process committed queued entries)."""
        if self._wake is not None:
            self._wake.set()

    async def integrate_once(self) -> int | None:
        """Sequence one batch of committed queue entries.

        Returns:
            How many entries were sequenced (0: the queue was empty), or None when another instance holds the
            integrator lock.

        Raises:
            AuditUnavailable: when the database fails (the batch is rolled back whole; nothing is lost).
        """
        log = await self._open_log()
        async with self._local:
            return await guarded(self._integrate(log), "audit integration")

    async def _integrate(self, log: AuditLog) -> int | None:
        async with self._sessions() as session:  # a plain read first: an idle poll takes no lock at all
            if await session.scalar(select(AuditQueueRow.id).limit(1)) is None:
                return 0
        async with self._sessions() as session, session.begin():
            if not await self._elect(session):
                return None
            rows = (
                await session.execute(
                    select(AuditQueueRow.id, AuditQueueRow.queued_us, AuditQueueRow.body)
                    .order_by(AuditQueueRow.id)
                    .limit(self.config.batch_size)
                )
            ).all()
            if rows:
                head = await self._sequence(session, log, [(int(i), int(us), bytes(b)) for i, us, b in rows])
                await self._keep_checkpoint(session, log, head)
            return len(rows)

    async def _elect(self, session: AsyncSession) -> bool:
        if dialect_name(session) == "postgresql":
            await session.execute(text(f"SET LOCAL lock_timeout = {int(self.config.lock_timeout_ms)}"))
            await session.execute(
                text(f"SET LOCAL idle_in_transaction_session_timeout = {int(self.config.idle_timeout_ms)}")
            )
            got = await session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
            return bool(got)
        # SQLite: a write as the first statement takes the database write lock before anything is read.
        await session.execute(update(AuditHeadRow).where(false()).values(id=AuditHeadRow.id))
        return True

    async def _sequence(self, session: AsyncSession, log: AuditLog, rows: list[tuple[int, int, bytes]]) -> AuditHeadRow:
        head = await session.get(AuditHeadRow, 1)
        last_time: datetime | None
        if head is not None:
            size, last_time = int(head.tree_size), head.updated_at
        else:  # the first batch (or a log written before the head existed)
            size = await tree_store.stored_tree_size(session)
            last_time = await session.scalar(select(AuditEntryRow.time).where(AuditEntryRow.seq == size - 1))
        compact = await tree_store.compact_range(session, size)
        entries: list[dict[str, Any]] = []
        leaves: list[bytes] = []
        for offset, (queue_id, queued_us, body) in enumerate(rows):
            moment = from_micros(queued_us)
            if last_time is not None and moment < last_time:
                moment = last_time  # entry times never go backwards, whatever order transactions committed in
            last_time = moment
            canonical, record = sequenced_entry(size + offset, moment, body)
            leaf = merkle.leaf_hash(canonical)
            leaves.append(leaf)
            entries.append(
                {"seq": size + offset, "time": moment, "canonical": canonical, "leaf_hash": leaf, "queue_id": queue_id}
                | filter_columns(record)
            )
        # on the connection: `session.execute` takes the ORM's bulk-insert path for a mapped table
        await (await session.connection()).execute(insert(_ENTRY_TABLE), entries)
        await tree_store.extend(session, compact, leaves)
        ids = [queue_id for queue_id, _, _ in rows]
        for first in range(0, len(ids), _DELETE_CHUNK):
            chunk = ids[first : first + _DELETE_CHUNK]
            await session.execute(delete(AuditQueueRow).where(AuditQueueRow.id.in_(chunk)))
        root = compact.root()
        note = log.sign(compact.size, root)
        assert last_time is not None
        if head is None:
            head = AuditHeadRow(id=1, tree_size=compact.size, root_hash=root, note=note, updated_at=last_time)
            session.add(head)
        else:
            head.tree_size, head.root_hash, head.note, head.updated_at = compact.size, root, note, last_time
        await session.flush()
        return head

    async def _keep_checkpoint(self, session: AsyncSession, log: AuditLog, head: AuditHeadRow) -> None:
        """Keep the head in the checkpoint history when the last kept one is older than the interval."""
        latest = (
            await session.execute(
                select(AuditCheckpointRow.tree_size, AuditCheckpointRow.created_at)
                .order_by(AuditCheckpointRow.tree_size.desc())
                .limit(1)
            )
        ).first()
        interval = timedelta(seconds=self.config.checkpoint_interval)
        if latest is None or (int(latest[0]) < head.tree_size and head.updated_at - latest[1] >= interval):
            await log.checkpoint(session, now=head.updated_at)

    async def settle(self, within: float = 10.0) -> None:
        """Sequence every entry committed before this call (auditor reads see their own log; tests use it).

        Raises:
            AuditUnavailable: when the entries could not be sequenced within `within` seconds.
        """
        async with self._sessions() as session:
            newest = await guarded(
                session.scalar(select(AuditQueueRow.id).order_by(AuditQueueRow.id.desc()).limit(1)), "audit read"
            )
        if newest is None:
            return
        deadline = asyncio.get_running_loop().time() + within
        while True:
            async with self._sessions() as session:
                waiting = await guarded(
                    session.scalar(select(AuditQueueRow.id).where(AuditQueueRow.id <= newest).limit(1)), "audit read"
                )
            if waiting is None:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise AuditUnavailable("queued audit entries were not sequenced in time")
            if await self.integrate_once() is None:
                await asyncio.sleep(_LOCK_RETRY_SECONDS)

    async def start(self) -> None:
        """Start the loop in the running event loop (idempotent)."""
        if self._task is None:
            self._stopping = False
            self._wake = asyncio.Event()
            self._task = asyncio.create_task(self._run(), name="audit-integrator")

    async def stop(self) -> None:
        """Stop the loop after its current batch, then sequence what this process queued and keep a checkpoint."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self.wake()
        await task
        with contextlib.suppress(AuditError):
            await self.settle(within=self.config.poll_interval * 8)
            log = await self._open_log()
            async with self._sessions() as session, session.begin():
                await log.checkpoint(session)

    async def _run(self) -> None:
        wake = self._wake
        assert wake is not None
        local_pending = False
        failures = 0
        while not self._stopping:
            try:
                done = await self.integrate_once()
                failures = 0
            except Exception:  # the loop must outlive a failing database; the batch was rolled back whole
                failures += 1
                logger.warning("audit integration failed (%d in a row); retrying", failures, exc_info=failures == 1)
                with contextlib.suppress(TimeoutError):  # back off while the database is down, up to ~5 s
                    await asyncio.wait_for(wake.wait(), timeout=min(5.0, self.config.poll_interval * 2**failures))
                wake.clear()
                continue
            if done is None and local_pending:
                await asyncio.sleep(_LOCK_RETRY_SECONDS)  # another instance integrates; ours may not be in its batch
                continue
            if done is not None and done >= self.config.batch_size:
                continue  # more is waiting
            local_pending = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=self.config.poll_interval)
                local_pending = True
                await asyncio.sleep(self.config.linger)
            wake.clear()
