"""Shared helpers of the audit-log integration tests (no tests here): databases, tables, a log under test."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from vault.audit import AuditAction, AuditEvent, Outcome, generate_signing_key
from vault.audit.export import plan_export, stream_bundle
from vault.audit.integrator import Integrator, IntegratorConfig
from vault.audit.log import AuditLog
from vault.audit.models import (
    AuditCheckpointRow,
    AuditEntryRow,
    AuditHeadRow,
    AuditQueueRow,
    AuditTreeNodeRow,
)
from vault.core.base import Base

AUDIT_TABLES = [
    AuditQueueRow.__table__,
    AuditEntryRow.__table__,
    AuditTreeNodeRow.__table__,
    AuditHeadRow.__table__,
    AuditCheckpointRow.__table__,
]
ORIGIN = "vault.test/audit"


def backend_url(backend: str, tmp_path: Any, postgres_url: str | None) -> str:
    """The database URL of a backend name used in test parameters."""
    return f"sqlite+aiosqlite:///{tmp_path}/a.db" if backend == "sqlite" else str(postgres_url)


def engine_for(url: str) -> AsyncEngine:
    """An engine on `url`; SQLite waits for the write lock as long as the service's engine does (30 s)."""
    return (
        create_async_engine(url, connect_args={"timeout": 30}) if url.startswith("sqlite") else create_async_engine(url)
    )


@asynccontextmanager
async def fresh_engine(url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on `url` whose audit tables were just recreated empty."""
    engine = engine_for(url)
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: Base.metadata.drop_all(sync, tables=AUDIT_TABLES))
        await conn.run_sync(lambda sync: Base.metadata.create_all(sync, tables=AUDIT_TABLES))
    try:
        yield engine
    finally:
        await engine.dispose()


@dataclass
class LogUnderTest:
    """An audit log, its integrator and sessions on one database: what one service instance holds."""

    log: AuditLog
    integrator: Integrator
    factory: async_sessionmaker[AsyncSession]

    async def append_now(self, event: AuditEvent) -> int:
        """Queue an entry in a committed transaction of its own; returns the queue id."""
        async with self.factory() as session, session.begin():
            return await self.log.queue(session, event)

    async def settle(self) -> None:
        """Sequence everything queued so far."""
        await self.integrator.settle()

    def on(self, factory: async_sessionmaker[AsyncSession], config: IntegratorConfig | None = None) -> LogUnderTest:
        """The same log (origin and key) as another instance would hold it, on other sessions."""
        return LogUnderTest(self.log, Integrator(factory, self._open, config or self.integrator.config), factory)

    async def _open(self) -> AuditLog:
        return self.log


def new_log(factory: async_sessionmaker[AsyncSession], config: IntegratorConfig | None = None) -> LogUnderTest:
    """A log with a fresh key and an integrator (its loop not started)."""
    log = AuditLog(ORIGIN, generate_signing_key())

    async def open_log() -> AuditLog:
        return log

    return LogUnderTest(log, Integrator(factory, open_log, config), factory)


def event(number: int, **fields: Any) -> AuditEvent:
    """A distinct, realistic event."""
    return AuditEvent(
        action=fields.pop("action", AuditAction.DOCUMENT_DOWNLOAD),
        outcome=fields.pop("outcome", Outcome.SUCCESS),
        actor_ref=fields.pop("actor_ref", f"actor-{number % 3}"),
        details=fields.pop("details", {"n": number}),
        **fields,
    )


async def fill(tested: LogUnderTest, count: int) -> None:
    """Queue `count` events, each committed, and sequence them."""
    for number in range(count):
        await tested.append_now(event(number))
    await tested.settle()


async def sign(tested: LogUnderTest) -> None:
    """Sequence what is queued and keep a checkpoint of it in the history."""
    await tested.settle()
    async with tested.factory() as session, session.begin():
        await tested.log.checkpoint(session)


async def export(tested: LogUnderTest, **kwargs: Any) -> dict[str, Any]:
    """Export a bundle through the streaming exporter and decode it."""
    async with tested.factory() as session:
        plan = await plan_export(tested.log, session, **kwargs)
    chunks = [chunk async for chunk in stream_bundle(plan, tested.factory)]
    decoded: dict[str, Any] = json.loads(b"".join(chunks))
    return decoded


async def raw(engine: AsyncEngine, sql: str, **params: Any) -> list[Any]:
    """Run raw SQL directly on the database, as an attacker with database access would."""
    async with engine.begin() as conn:
        result = await conn.execute(text(sql), params)
        return list(result) if result.returns_rows else []
