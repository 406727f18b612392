"""The unsequenced queue: an append is one INSERT in the caller's transaction, stamped by the database clock.

No lock is taken: the row commits or vanishes with the caller's own rows, and the integrator gives it a place
in the log later. Its id answers "accepted, not yet sequenced" until an entry names it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import Table, insert, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from vault.audit.entry import AuditEvent, queued_body
from vault.audit.models import AuditEntryRow, AuditQueueRow

__all__ = (
    "QueueStatus",
    "database_clock_us",
    "dialect_name",
    "enqueue",
    "enqueue_many",
    "enqueue_many_raw",
    "enqueue_many_sqlite",
    "from_micros",
    "queue_status",
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def dialect_name(session: AsyncSession) -> str:
    """The SQL dialect the session talks to (`postgresql`, `sqlite`)."""
    return session.sync_session.get_bind().dialect.name


def database_clock_us(dialect: str) -> ColumnElement[int]:
    """SQL for the database server's current time in microseconds since the epoch (not the transaction start)."""
    if dialect == "postgresql":
        return literal_column("CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)")
    return literal_column("CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER)")


def from_micros(micros: int) -> datetime:
    """A UTC datetime from microseconds since the epoch (exact, no float rounding)."""
    return _EPOCH + timedelta(microseconds=micros)


async def enqueue(session: AsyncSession, event: AuditEvent) -> int:
    """Queue one event inside the caller's transaction; returns its queue id.

    Raises:
        sqlalchemy.exc.SQLAlchemyError: when the database refuses the row (callers translate it).
    """
    statement = (
        insert(AuditQueueRow)
        .values(queued_us=database_clock_us(dialect_name(session)), body=queued_body(event))
        .returning(AuditQueueRow.id)
    )
    queue_id = (await session.execute(statement)).scalar_one()
    return int(queue_id)


async def enqueue_many(session: AsyncSession, events: Sequence[AuditEvent]) -> list[int]:
    """Queue several events inside the caller's transaction with one statement; their queue ids, in order.

    Raises:
        sqlalchemy.exc.SQLAlchemyError: when the database refuses the rows (callers translate it).
    """
    if not events:
        return []
    table = cast(Table, AuditQueueRow.__table__)  # a Core statement: no ORM bulk-insert machinery for plain rows
    dialect = dialect_name(session)
    # SQLAlchemy can only promise RETURNING in parameter order on SQLite by inserting one row per statement (a
    # thread hop each); one statement numbers its rows in VALUES order anyway (each new rowid is one above the
    # largest, under the write lock), so there the ids are sorted instead
    in_order = dialect != "sqlite"
    statement = (
        insert(table)
        .values(queued_us=database_clock_us(dialect))
        .returning(table.c.id, sort_by_parameter_order=in_order)
    )
    # on the session's connection: `session.execute` would take the ORM's bulk-insert path for the mapped table
    connection = await session.connection()
    result = await connection.execute(statement, [{"body": queued_body(event)} for event in events])
    ids = [int(queue_id) for queue_id in result.scalars()]
    return ids if in_order else sorted(ids)


# `enqueue_many` on PostgreSQL through a `vault.core.raw_pg.RawPool`, outside any transaction (one statement
# commits or fails whole). The ids come from the table's identity, drawn in the order the SELECT gives the rows
# (ORDER BY their position): sorted, they are the events' ids in order. SQLAlchemy's own `insertmanyvalues`
# relies on the same for PostgreSQL (an autoincrement column as the sentinel, INSERT ... SELECT ... ORDER BY).
PG_ENQUEUE_MANY = (
    f"INSERT INTO {AuditQueueRow.__tablename__} (queued_us, body) "  # noqa: S608 - constants, no input
    f"SELECT {database_clock_us('postgresql')}, body "
    "FROM unnest($1::bytea[]) WITH ORDINALITY AS queued(body, ordinal) ORDER BY ordinal RETURNING id"
)


async def enqueue_many_raw(pool: Any, events: Sequence[AuditEvent]) -> list[int]:
    """`enqueue_many` on PostgreSQL through an asyncpg pool, committed on return (see `PG_ENQUEUE_MANY`).

    Raises:
        asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError: when the rows were not committed.
    """
    rows = await pool.fetch(PG_ENQUEUE_MANY, [queued_body(event) for event in events])
    return sorted(int(row[0]) for row in rows)


def enqueue_many_sqlite(events: Sequence[AuditEvent]) -> Callable[[sqlite3.Connection], list[int]]:
    """`enqueue_many` on a SQLite file through a `vault.core.raw_sqlite.RawSqlite`: the work to run in its
    thread, one transaction committed when it returns (rolled back when it raises `sqlite3.Error`). As in
    `enqueue_many`, one statement numbers its rows in VALUES order, so the sorted ids are the events' ids."""
    bodies = [queued_body(event) for event in events]  # here, on the event loop: the thread only talks to SQLite
    rows = ", ".join([f"({database_clock_us('sqlite')}, ?)"] * len(bodies))
    statement = f"INSERT INTO {AuditQueueRow.__tablename__} (queued_us, body) VALUES {rows} RETURNING id"  # noqa: S608

    def insert(connection: sqlite3.Connection) -> list[int]:
        with connection:
            return sorted(int(queue_id) for (queue_id,) in connection.execute(statement, bodies).fetchall())

    return insert


@dataclass(frozen=True)
class QueueStatus:
    """Where an accepted entry stands.

    Attributes:
        queue_id: the id its append returned.
        state: `pending` (accepted, not yet sequenced), `sequenced`, or `unknown` (never committed, or the id
            was not issued).
        seq: its position in the log once sequenced.
    """

    queue_id: int
    state: Literal["pending", "sequenced", "unknown"]
    seq: int | None = None


async def queue_status(session: AsyncSession, queue_id: int) -> QueueStatus:
    """Whether the entry accepted under `queue_id` is sequenced yet, and where."""
    seq = await session.scalar(select(AuditEntryRow.seq).where(AuditEntryRow.queue_id == queue_id))
    if seq is not None:
        return QueueStatus(queue_id, "sequenced", int(seq))
    pending = await session.scalar(select(AuditQueueRow.id).where(AuditQueueRow.id == queue_id))
    return QueueStatus(queue_id, "pending" if pending is not None else "unknown")
