"""Recording what happens: turns a caller and the objects touched into audit events, failing closed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vault.audit.entry import AuditEvent
from vault.audit.log import AuditLog, AuditUnavailable
from vault.core.errors import AuditUnavailableError
from vault.core.principal import Caller

__all__ = ("EventRecorder",)

Detail = str | int | bool | None


class EventRecorder:
    """Appends audit entries for the service. A failed append raises `AuditUnavailableError` (503).

    The log (and its signing key, kept in the database) is opened on first use, so the service starts and
    reports itself unready, rather than crashing, while the database is down.
    """

    def __init__(self, open_log: Callable[[], Awaitable[AuditLog]], sessions: async_sessionmaker[AsyncSession]) -> None:
        self._open_log = open_log
        self._log: AuditLog | None = None
        self._lock = asyncio.Lock()
        self._sessions = sessions

    async def log(self) -> AuditLog:
        """The audit log, opened on first use."""
        if self._log is None:
            async with self._lock:
                if self._log is None:
                    self._log = await self._open_log()
        return self._log

    @staticmethod
    def event(
        action: str,
        outcome: str,
        caller: Caller | None,
        *,
        owner_ref: str | None = None,
        document_id: uuid.UUID | None = None,
        version_id: uuid.UUID | None = None,
        grant_id: uuid.UUID | None = None,
        request_id: uuid.UUID | None = None,
        link_id: uuid.UUID | None = None,
        purpose: str | None = None,
        details: Mapping[str, Detail] | None = None,
    ) -> AuditEvent:
        return AuditEvent(
            action=action,
            outcome=outcome,
            actor_subject=caller.subject if caller else None,
            actor_role=caller.primary_role if caller else None,
            actor_agency=caller.agency if caller else None,
            client_id=caller.client_id if caller else None,
            owner_ref=owner_ref,
            document_id=document_id,
            version_id=version_id,
            grant_id=grant_id,
            request_id=request_id,
            link_id=link_id,
            purpose=purpose,
            details=dict(details or {}),
        )

    async def append(self, session: AsyncSession, event: AuditEvent) -> int:
        """Append inside the caller's transaction (committed with its rows)."""
        try:
            return await (await self.log()).append(session, event)
        except AuditUnavailable as exc:
            raise AuditUnavailableError() from exc

    async def append_now(self, event: AuditEvent) -> int:
        """Append and commit in a transaction of its own (reads, denied attempts)."""
        try:
            return await (await self.log()).append_now(self._sessions, event)
        except AuditUnavailable as exc:
            raise AuditUnavailableError() from exc
