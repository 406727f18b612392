"""Recording what happens: turns a caller and the objects touched into audit events and queues them, failing
closed. Owns the integrator that sequences what every instance queued."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vault.audit import queue
from vault.audit.actions import AuditAction, Outcome
from vault.audit.entry import AuditEvent, DetailValue
from vault.audit.errors import AuditUnavailable
from vault.audit.group_commit import GroupCommitter
from vault.audit.integrator import Integrator, IntegratorConfig
from vault.audit.log import AuditLog, guarded
from vault.core.errors import AuditUnavailableError
from vault.core.principal import Caller

__all__ = ("AuditRecorder",)

_WAKES = "vault.audit.wakes_integrator"


class AuditRecorder:
    """Queues audit entries for the service. A failed append raises `AuditUnavailableError` (503).

    An append is one INSERT into the queue, in the caller's transaction or a transaction of its own, and
    returns a queue id; the integrator gives the entry its place in the log within a second (`status` tells).
    The log (and its signing key, kept in the database) is opened on first use, so the service starts and
    reports itself unready, rather than crashing, while the database is down.

    Args:
        open_log: opens the audit log (origin and checkpoint signing key).
        sessions: sessions on the service database.
        config: the integrator's batching and timeouts.
    """

    def __init__(
        self,
        open_log: Callable[[], Awaitable[AuditLog]],
        sessions: async_sessionmaker[AsyncSession],
        config: IntegratorConfig | None = None,
    ) -> None:
        self._open_log = open_log
        self._log: AuditLog | None = None
        self._lock = asyncio.Lock()
        self._sessions = sessions
        self.integrator = Integrator(sessions, self.log, config)
        self._group = GroupCommitter(sessions, self.integrator.wake, sqlite_writes=self.integrator.writes)

    async def log(self) -> AuditLog:
        """The audit log, opened on first use."""
        if self._log is None:
            async with self._lock:
                if self._log is None:
                    self._log = await self._open_log()
        return self._log

    @staticmethod
    def event(
        action: AuditAction,
        outcome: Outcome,
        caller: Caller | None,
        *,
        actor_ref: str | None = None,
        owner_ref: str | None = None,
        document_id: uuid.UUID | None = None,
        version_id: uuid.UUID | None = None,
        grant_id: uuid.UUID | None = None,
        request_id: uuid.UUID | None = None,
        link_id: uuid.UUID | None = None,
        purpose: str | None = None,
        details: Mapping[str, DetailValue] | None = None,
    ) -> AuditEvent:
        """An event for `caller`: its role, agency and client in clear, its identity only as `actor_ref`.

        Args:
            action: what happened.
            outcome: how it ended.
            caller: who did it (None for an unauthenticated caller).
            actor_ref: the caller's pseudonym, computed by the caller like an owner pseudonym (never the subject).
            owner_ref: the data owner's pseudonym.
            document_id: the document touched.
            version_id: the version touched.
            grant_id: the grant used or changed.
            request_id: the agency request used or changed.
            link_id: the share link used or changed.
            purpose: the stated purpose.
            details: a few extra facts (never content, titles, file names or tokens).
        """
        return AuditEvent(
            action=action,
            outcome=outcome,
            actor_ref=actor_ref,
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

    def _wake_on_commit(self, _session: Any) -> None:
        self.integrator.wake()

    async def append(self, session: AsyncSession, event: AuditEvent) -> int:
        """Queue an entry inside the caller's transaction (it commits or vanishes with the caller's rows).

        Returns:
            The queue id: the entry is accepted, not yet sequenced.

        Raises:
            AuditUnavailableError: when the queue row cannot be written (the caller's transaction must fail).
        """
        try:
            queue_id = await guarded(queue.enqueue(session, event), "audit append")
        except AuditUnavailable as exc:
            raise AuditUnavailableError() from exc
        if not session.info.get(_WAKES):  # wake the integrator when this session commits (once per session)
            sa_event.listen(session.sync_session, "after_commit", self._wake_on_commit)
            session.info[_WAKES] = True
        return queue_id

    async def append_now(self, event: AuditEvent) -> int:
        """Queue an entry outside the caller's transaction (reads, denied attempts); returns once it committed.

        Concurrent calls are committed together (group commit: one INSERT of every row waiting, one transaction),
        so a busy service pays one commit for many reads; each call still returns only after its own row is
        durable, and fails when that transaction failed.

        Raises:
            AuditUnavailableError: when the entry could not be committed.
        """
        try:
            return await self._group.append(event)
        except (AuditUnavailable, SQLAlchemyError, OSError) as exc:
            raise AuditUnavailableError() from exc

    async def status(self, queue_id: int) -> queue.QueueStatus:
        """Whether the entry accepted under `queue_id` is sequenced yet, and where.

        Raises:
            AuditUnavailableError: when the database fails.
        """
        try:
            async with self._sessions() as session:
                return await guarded(queue.queue_status(session, queue_id), "audit status")
        except AuditUnavailable as exc:
            raise AuditUnavailableError() from exc

    async def start(self) -> None:
        """Start the integrator loop (call from the app lifespan, after the database is reachable or not)."""
        await self.integrator.start()

    async def stop(self) -> None:
        """Stop the integrator loop, sequencing what is queued and keeping a last checkpoint (best effort)."""
        await self._group.close()
        await self.integrator.stop()
