"""Shared helpers of the audit-log integration tests (no tests here): databases, tables, tampering."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from vault.audit import AuditEvent, AuditLog, generate_signing_key
from vault.audit.models import AuditCheckpointRow, AuditEntryRow, AuditTreeNodeRow
from vault.core.base import Base

AUDIT_TABLES = [AuditEntryRow.__table__, AuditTreeNodeRow.__table__, AuditCheckpointRow.__table__]
ORIGIN = "vault.test/audit"


class StepClock:
    """A clock that moves one millisecond per reading, so entry times are distinct and predictable."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


def backend_url(backend: str, tmp_path: Any, postgres_url: str | None) -> str:
    """The database URL of a backend name used in test parameters."""
    return f"sqlite+aiosqlite:///{tmp_path}/a.db" if backend == "sqlite" else str(postgres_url)


@asynccontextmanager
async def fresh_engine(url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on `url` whose audit tables were just recreated empty."""
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: Base.metadata.drop_all(sync, tables=AUDIT_TABLES))
        await conn.run_sync(lambda sync: Base.metadata.create_all(sync, tables=AUDIT_TABLES))
    try:
        yield engine
    finally:
        await engine.dispose()


def new_log(clock: StepClock | None = None) -> AuditLog:
    """An audit log with a fresh key."""
    return AuditLog(ORIGIN, generate_signing_key(), clock=clock or StepClock())


def event(number: int, **fields: Any) -> AuditEvent:
    """A distinct, realistic event."""
    return AuditEvent(
        action=fields.pop("action", "document.download"),
        outcome=fields.pop("outcome", "success"),
        actor_subject=fields.pop("actor_subject", f"user-{number % 3}"),
        details=fields.pop("details", {"n": number}),
        **fields,
    )


async def fill(log: AuditLog, factory: async_sessionmaker[AsyncSession], count: int) -> None:
    """Append `count` events one after another, each committed."""
    for number in range(count):
        await log.append_now(factory, event(number))


async def sign(log: AuditLog, factory: async_sessionmaker[AsyncSession]) -> None:
    """Sign and commit a checkpoint of the current tree."""
    async with factory() as session, session.begin():
        await log.checkpoint(session)


async def export(log: AuditLog, factory: async_sessionmaker[AsyncSession], **kwargs: Any) -> dict[str, Any]:
    """Export a bundle in a read-only session."""
    async with factory() as session:
        return await log.export_bundle(session, **kwargs)


async def raw(engine: AsyncEngine, sql: str, **params: Any) -> list[Any]:
    """Run raw SQL directly on the database, as an attacker with database access would."""
    async with engine.begin() as conn:
        result = await conn.execute(text(sql), params)
        return list(result) if result.returns_rows else []
