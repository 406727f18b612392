"""Group commit of the audit queue (reads and denied attempts, appended outside a caller's transaction), on
SQLite and PostgreSQL: many concurrent appends share a transaction, each returns only once its own row is
committed, a failed transaction fails every append it carried, and the log stays gap-free."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.integration.test_audit_support import event, new_log
from vault.audit import AuditUnavailable, merkle, queue
from vault.audit.entry import AuditEvent
from vault.audit.group_commit import GroupCommitter
from vault.audit.models import AuditQueueRow


def queue_inserts_of(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that grows by one at each INSERT into the queue on `engine`: one per transaction of the group
    commit. The committer sends it on a connection of its own (PostgreSQL: the precompiled statement through
    its asyncpg pool, committing on its own; a SQLite file: one statement in one transaction in its thread), or
    through the engine (what SQLAlchemy sends, counted by statement)."""
    inserts: list[int] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_QUEUE"):
            inserts.append(1)

    sa_event.listen(engine.sync_engine, "before_cursor_execute", seen)
    real = queue.enqueue_many_raw

    async def counted(pool: Any, events: Sequence[AuditEvent]) -> list[int]:
        inserts.append(1)
        return await real(pool, events)

    monkeypatch.setattr(queue, "enqueue_many_raw", counted)
    sqlite_work = queue.enqueue_many_sqlite

    def counted_sqlite(events: Sequence[AuditEvent]) -> Callable[[sqlite3.Connection], list[int]]:
        work = sqlite_work(events)

        def counting(connection: sqlite3.Connection) -> list[int]:
            inserts.append(1)
            return work(connection)

        return counting

    monkeypatch.setattr(queue, "enqueue_many_sqlite", counted_sqlite)
    return inserts


@contextlib.asynccontextmanager
async def refusing_queue_rows(engine: AsyncEngine) -> AsyncIterator[None]:
    """The database itself refuses every new queue row (a trigger), until the block ends."""
    if engine.dialect.name == "sqlite":
        create = [
            "CREATE TRIGGER refuse BEFORE INSERT ON audit_queue BEGIN SELECT RAISE(ABORT, 'refused'); END",
        ]
        drop = ["DROP TRIGGER refuse"]
    else:
        create = [
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$",
            "CREATE TRIGGER refuse BEFORE INSERT ON audit_queue FOR EACH ROW EXECUTE FUNCTION refuse()",
        ]
        drop = ["DROP TRIGGER refuse ON audit_queue", "DROP FUNCTION refuse()"]
    async with engine.begin() as connection:
        for statement in create:
            await connection.exec_driver_sql(statement)
    try:
        yield
    finally:
        async with engine.begin() as connection:
            for statement in drop:
                await connection.exec_driver_sql(statement)


@pytest.fixture
async def committers(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[Callable[..., GroupCommitter]]:
    """Makes group committers on the test database, and closes them (their own connections) at the end."""
    made: list[GroupCommitter] = []

    def make(committed: Callable[[], None] = lambda: None, **options: Any) -> GroupCommitter:
        made.append(GroupCommitter(factory, committed, **options))
        return made[-1]

    yield make
    for group in made:
        await group.close()


async def test_concurrent_appends_share_commits_and_each_returns_after_its_row_committed(
    engine: AsyncEngine,
    factory: async_sessionmaker[AsyncSession],
    committers: Callable[..., GroupCommitter],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tested = new_log(factory)
    wakes: list[int] = []
    group = committers(lambda: wakes.append(1), max_rows=50)
    commits = queue_inserts_of(engine, monkeypatch)
    seen_committed: list[bool] = []

    async def append(number: int) -> int:
        queue_id = await group.append(event(number))
        async with factory() as session:  # another connection sees the row as soon as the append returns
            seen_committed.append(await session.get(AuditQueueRow, queue_id) is not None)
        return queue_id

    queue_ids = await asyncio.gather(*(append(n) for n in range(200)))
    assert len(set(queue_ids)) == 200
    assert all(seen_committed)
    assert len(commits) == len(wakes) < 200  # fewer transactions than appends; the integrator woken after each
    assert len(commits) >= 200 // 50  # at most max_rows per transaction
    await tested.settle()
    async with factory() as session:
        entries = await tested.log.entries(session, limit=1000)
        head = await tested.log.head(session)
    assert [entry.record["seq"] for entry in entries] == list(range(200))  # gap-free
    assert sorted(entry.record["details"]["n"] for entry in entries) == list(range(200))
    assert head is not None
    assert head.root_hash == merkle.root([merkle.leaf_hash(e.canonical) for e in entries])


async def test_a_lone_append_is_committed_at_once(
    factory: async_sessionmaker[AsyncSession], committers: Callable[..., GroupCommitter]
) -> None:
    group = committers()
    first = await group.append(event(0))
    second = await group.append(event(1))
    assert second > first
    async with factory() as session:
        assert await session.scalar(select(func.count()).select_from(AuditQueueRow)) == 2


async def test_a_failed_transaction_fails_every_append_it_carried_and_keeps_none_of_them(
    engine: AsyncEngine, factory: async_sessionmaker[AsyncSession], committers: Callable[..., GroupCommitter]
) -> None:
    group = committers()
    async with refusing_queue_rows(engine):
        results = await asyncio.gather(*(group.append(event(n)) for n in range(20)), return_exceptions=True)
    assert all(isinstance(result, AuditUnavailable) for result in results)
    assert await group.append(event(99)) > 0  # the writer recovers for later appends
    async with factory() as session:
        bodies = (await session.scalars(select(AuditQueueRow.id))).all()
    assert len(bodies) == 1


async def test_a_caller_that_goes_away_does_not_cancel_the_others(committers: Callable[..., GroupCommitter]) -> None:
    group = committers()
    tasks = [asyncio.create_task(group.append(event(n))) for n in range(10)]
    await asyncio.sleep(0)
    tasks[0].cancel()
    done = await asyncio.gather(*tasks[1:])
    assert len(set(done)) == 9
    await group.close()


@pytest.mark.parametrize("rows", [0, -1])
def test_a_batch_needs_room_for_a_row(factory: async_sessionmaker[AsyncSession], rows: int) -> None:
    with pytest.raises(ValueError):
        GroupCommitter(factory, lambda: None, max_rows=rows)


async def test_sqlite_writes_wait_for_the_integrators_lock_and_postgresql_writes_do_not(
    engine: AsyncEngine, committers: Callable[..., GroupCommitter]
) -> None:
    """SQLite has one writer at a time: the group commit takes the integrator's `writes` lock first, so it
    starts when the integrator's batch commits (not on SQLite's busy-retry timer). PostgreSQL needs no turn."""
    writes = asyncio.Lock()
    group = committers(sqlite_writes=writes)
    async with writes:
        pending = asyncio.create_task(group.append(event(0)))
        await asyncio.sleep(0.3)
        assert pending.done() is (engine.dialect.name == "postgresql")
    assert await pending > 0
