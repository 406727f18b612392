"""The auditor's use cases over the log: audited reads, proofs, checkpoints, streamed exports, and the public
tlog-tiles view. Translates audit errors into the service's HTTP errors once, here."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vault.audit import tiles
from vault.audit.actions import AuditAction, Outcome
from vault.audit.errors import AuditNotFound, AuditRangeError, AuditUnavailable
from vault.audit.export import ExportPlan, plan_export, stream_bundle
from vault.audit.log import AuditLog, Checkpoint, Entry
from vault.audit.queue import QueueStatus
from vault.audit.recorder import AuditRecorder
from vault.core.errors import AuditUnavailableError, BadRequest, DatabaseUnavailable, NotFound
from vault.core.principal import Caller

__all__ = ("ActorRefs", "AuditService")

# How long an auditor read waits for entries accepted before it to be sequenced.
_SETTLE_SECONDS = 2.0

ActorRefs = Callable[[AsyncSession, Caller], Awaitable[str | None]]


async def _no_actor_ref(_session: AsyncSession, _caller: Caller) -> str | None:
    return None


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except AuditRangeError as exc:
        raise BadRequest(exc.detail) from exc
    except AuditNotFound as exc:
        raise NotFound(exc.detail) from exc
    except AuditUnavailable as exc:
        raise AuditUnavailableError() from exc


class AuditService:
    """What auditors (and log mirrors) can ask of the log. Every auditor read is itself audited.

    Args:
        recorder: queues entries and owns the integrator.
        sessions: sessions on the service database.
        actor_refs: computes the caller's actor pseudonym for the entries recording auditor reads.
    """

    def __init__(
        self, recorder: AuditRecorder, sessions: async_sessionmaker[AsyncSession], actor_refs: ActorRefs | None = None
    ) -> None:
        self._recorder = recorder
        self._sessions = sessions
        self._actor_refs = actor_refs or _no_actor_ref

    @contextlib.asynccontextmanager
    async def _audited(self, caller: Caller, action: AuditAction) -> AsyncIterator[tuple[AuditLog, AsyncSession]]:
        """A transaction that records `action` by `caller` and sees every entry accepted before it began."""
        with _translated():
            log = await self._recorder.log()
            # best effort: a busy or stalled integrator must not block reads
            with contextlib.suppress(AuditUnavailable):
                await self._recorder.integrator.settle(within=_SETTLE_SECONDS)
            try:
                async with self._sessions() as session, session.begin():
                    yield log, session
                    event = self._recorder.event(
                        action, Outcome.SUCCESS, caller, actor_ref=await self._actor_refs(session, caller)
                    )
                    await self._recorder.append(session, event)
            except OSError as exc:
                raise DatabaseUnavailable() from exc

    async def entries(
        self,
        caller: Caller,
        *,
        start: int = 0,
        limit: int = 100,
        action: str | None = None,
        actor_ref: str | None = None,
        document_id: uuid.UUID | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Entry]:
        """Sequenced entries from `start` on, oldest first, filtered by action, actor pseudonym, document and time
        (`since <= time < until`)."""
        async with self._audited(caller, AuditAction.AUDIT_READ) as (log, session):
            return await log.entries(
                session,
                start=start,
                limit=limit,
                action=action,
                actor_ref=actor_ref,
                document_id=document_id,
                since=since,
                until=until,
            )

    async def checkpoints(self, caller: Caller) -> tuple[Checkpoint | None, list[Checkpoint]]:
        """The newest signed checkpoint (None before the first entry) and those kept in the history."""
        async with self._audited(caller, AuditAction.AUDIT_READ) as (log, session):
            return await log.latest_checkpoint(session), await log.checkpoints(session)

    async def inclusion_evidence(self, caller: Caller, seq: int) -> tuple[Entry, Checkpoint, list[bytes]]:
        """Entry `seq`, the newest checkpoint and the proof that the entry is in that checkpoint's tree."""
        async with self._audited(caller, AuditAction.AUDIT_READ) as (log, session):
            head = await log.latest_checkpoint(session)
            found = await log.entries(session, start=seq, limit=1)
            if head is None or not found or found[0].seq != seq or seq >= head.tree_size:
                raise NotFound(f"entry {seq} is not in a signed checkpoint yet")
            return found[0], head, await log.inclusion_proof(session, seq, head.tree_size)

    async def latest_checkpoint(self, caller: Caller) -> Checkpoint:
        """The newest signed checkpoint (404 before the first entry is sequenced)."""
        async with self._audited(caller, AuditAction.AUDIT_READ) as (log, session):
            latest = await log.latest_checkpoint(session)
        if latest is None:
            raise NotFound("no checkpoint has been signed yet")
        return latest

    async def keep_checkpoint(self, caller: Caller) -> Checkpoint:
        """Keep a checkpoint of the log as it is now in the history (on demand)."""
        async with self._audited(caller, AuditAction.AUDIT_CHECKPOINT) as (log, session):
            return await log.checkpoint(session)

    async def inclusion_proof(self, caller: Caller, seq: int, size: int) -> list[bytes]:
        """The inclusion proof of entry `seq` in the tree of `size` entries."""
        async with self._audited(caller, AuditAction.AUDIT_READ) as (log, session):
            return await log.inclusion_proof(session, seq, size)

    async def consistency_proof(self, caller: Caller, first: int, second: int) -> list[bytes]:
        """The consistency proof between tree sizes `first` and `second`."""
        async with self._audited(caller, AuditAction.AUDIT_READ) as (log, session):
            return await log.consistency_proof(session, first, second)

    async def consistency_evidence(
        self, caller: Caller, first: int, second: int | None = None
    ) -> tuple[int, list[bytes], dict[int, Checkpoint]]:
        """The consistency proof between tree sizes `first` and `second` (the newest checkpoint's when None), and
        the signed checkpoints of those sizes the log kept (the newest one included), by size."""
        async with self._audited(caller, AuditAction.AUDIT_READ) as (log, session):
            head = await log.latest_checkpoint(session)
            if second is None:
                second = 0 if head is None else head.tree_size
            if first > second:
                raise AuditRangeError(f"no consistency proof from size {first} to size {second}")
            proof = await log.consistency_proof(session, first, second)
            kept = await log.checkpoints(session, min_size=first, max_size=second)
        signed = {c.tree_size: c for c in [*kept, *([head] if head else [])] if c.tree_size in (first, second)}
        return second, proof, signed

    async def status(self, caller: Caller, queue_id: int) -> QueueStatus:
        """Whether an accepted entry is sequenced yet ("accepted, not yet sequenced" until it is)."""
        async with self._audited(caller, AuditAction.AUDIT_READ) as (log, session):
            return await log.status(session, queue_id)

    async def export(self, caller: Caller, *, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """An offline-verifiable bundle of entries `[start, end)`, streamed; range errors raise before streaming."""
        async with self._audited(caller, AuditAction.AUDIT_EXPORT) as (log, session):
            plan = await plan_export(log, session, start=start, end=end)
        return self._stream(plan)

    async def _stream(self, plan: ExportPlan) -> AsyncIterator[bytes]:
        with _translated():
            async for chunk in stream_bundle(plan, self._sessions):
                yield chunk

    async def key(self) -> tuple[str, str]:
        """The log's origin and checkpoint verifier key (public)."""
        with _translated():
            log = await self._recorder.log()
        return log.origin, log.note_verifier

    async def published_checkpoint(self) -> str:
        """The latest signed checkpoint note, for `/audit/checkpoint` (public, not audited)."""
        with _translated():
            log = await self._recorder.log()
            async with self._sessions() as session:
                head = await log.latest_checkpoint(session)
        if head is None:
            raise NotFound("no checkpoint has been signed yet")
        return head.note

    async def tile(self, path: str) -> bytes:
        """A hash tile of the published tree (public, not audited: it holds hashes only)."""
        with _translated():
            tile = tiles.parse_tile_path(path)
            if tile.level is None:
                raise AuditNotFound("entry bundles are under tile/entries/")
            return await self._read_tile(tile)

    async def entry_bundle(self, caller: Caller, path: str) -> bytes:
        """An entry bundle of the published log (auditors only, audited like every entry read)."""
        async with self._audited(caller, AuditAction.AUDIT_READ) as (log, session):
            tile = tiles.parse_tile_path(f"entries/{path.lstrip('/')}")
            head = await log.head(session)
            return await tiles.read_tile(session, tile, 0 if head is None else head.tree_size)

    async def _read_tile(self, tile: tiles.TilePath) -> bytes:
        log = await self._recorder.log()
        async with self._sessions() as session:
            head = await log.head(session)
            return await tiles.read_tile(session, tile, 0 if head is None else head.tree_size)
