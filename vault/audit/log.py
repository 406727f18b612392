"""The audit log service: append entries, sign checkpoints, answer queries and proofs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vault.audit import merkle, tree_store
from vault.audit.entry import AuditEvent, canonical_entry
from vault.audit.models import AuditCheckpointRow, AuditEntryRow
from vault.audit.note import check_key_name, checkpoint_body, sign_note

__all__ = (
    "AuditConflict",
    "AuditLog",
    "AuditUnavailable",
    "Checkpoint",
    "Entry",
    "run_periodic_checkpoints",
    "utcnow",
)

logger = logging.getLogger(__name__)
T = TypeVar("T")
_APPEND_ATTEMPTS = 3
_MAX_PAGE = 1000


class AuditUnavailable(Exception):
    """The log could not be written or read; callers fail closed (the service answers 503).

    Attributes:
        detail: a message safe to log (no SQL, no parameters).
    """

    def __init__(self, detail: str = "the audit log is unavailable") -> None:
        super().__init__(detail)
        self.detail = detail


class AuditConflict(AuditUnavailable):
    """Another writer took the same sequence number; the transaction is lost and may be retried whole."""


def utcnow() -> datetime:
    """The current time in UTC (the default clock)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head.

    Attributes:
        tree_size: number of entries covered.
        root_hash: the RFC 9162 tree head.
        note: the C2SP tlog-checkpoint signed note.
        created_at: when it was signed.
    """

    tree_size: int
    root_hash: bytes
    note: str
    created_at: datetime


@dataclass(frozen=True)
class Entry:
    """A stored entry; `canonical` is the evidence and `record` its decoded form.

    Attributes:
        seq: position in the log.
        time: append time.
        canonical: the RFC 8785 leaf bytes.
        leaf_hash: the RFC 9162 leaf hash stored with the entry.
    """

    seq: int
    time: datetime
    canonical: bytes
    leaf_hash: bytes

    @property
    def record(self) -> dict[str, Any]:
        """The entry as a dict decoded from its canonical bytes (not from the filter columns)."""
        decoded: dict[str, Any] = json.loads(self.canonical)
        return decoded


async def _guarded(work: Awaitable[T], what: str) -> T:
    """Run database work, turning driver and SQLAlchemy failures into `AuditUnavailable`."""
    try:
        return await work
    except IntegrityError as exc:
        raise AuditConflict(f"{what}: conflicting concurrent write") from exc
    except (SQLAlchemyError, OSError, LookupError) as exc:
        raise AuditUnavailable(f"{what} failed") from exc


def _checkpoint(row: AuditCheckpointRow) -> Checkpoint:
    return Checkpoint(row.tree_size, bytes(row.root_hash), row.note, row.created_at)


class AuditLog:
    """A transparency log of audit entries stored in the service database.

    Args:
        origin: the log's identity, the first line of every checkpoint and the signing key's name.
        signing_key: the Ed25519 key that signs checkpoints.
        clock: returns the current time (timezone-aware); injectable for tests.
    """

    def __init__(self, origin: str, signing_key: Ed25519PrivateKey, clock: Callable[[], datetime] = utcnow) -> None:
        check_key_name(origin)
        self.origin = origin
        self.signing_key = signing_key
        self._clock = clock

    async def append(self, session: AsyncSession, event: AuditEvent) -> int:
        """Append one entry inside the caller's transaction (flushed, not committed).

        The log's write lock is held until the caller commits or rolls back, so the entry commits or
        vanishes together with the caller's own rows.

        Returns:
            The entry's sequence number.

        Raises:
            AuditUnavailable: when the database refuses the write (`AuditConflict` on a lost race).
        """
        return await _guarded(self._append(session, event), "audit append")

    async def _append(self, session: AsyncSession, event: AuditEvent) -> int:
        await tree_store.lock_for_append(session)
        last_time_query = select(AuditEntryRow.time).order_by(AuditEntryRow.seq.desc()).limit(1).scalar_subquery()
        last_index, last_time = (await session.execute(select(tree_store.last_leaf_index(), last_time_query))).one()
        seq = 0 if last_index is None else int(last_index) + 1
        moment = self._clock().astimezone(UTC)
        if last_time is not None and last_time > moment:
            moment = last_time  # keep time monotone across instances whose clocks disagree slightly
        canonical = canonical_entry(seq, moment, event)
        leaf = merkle.leaf_hash(canonical)
        await session.execute(
            insert(AuditEntryRow).values(
                seq=seq,
                time=moment,
                canonical=canonical,
                leaf_hash=leaf,
                action=event.action,
                outcome=event.outcome,
                actor_subject=event.actor_subject,
                owner_ref=event.owner_ref,
                document_id=event.document_id,
            )
        )
        await tree_store.append_leaf(session, seq, leaf)
        await session.flush()
        return seq

    async def append_now(self, session_factory: async_sessionmaker[AsyncSession], event: AuditEvent) -> int:
        """Append one entry in its own committed transaction (reads and denied attempts), retrying lost races.

        Raises:
            AuditUnavailable: when the entry could not be committed.
        """
        for attempt in range(1, _APPEND_ATTEMPTS + 1):
            try:
                async with session_factory() as session, session.begin():
                    seq = await self.append(session, event)
            except AuditConflict:
                if attempt == _APPEND_ATTEMPTS:
                    raise
                logger.warning("audit append lost a race (attempt %d); retrying", attempt)
            except AuditUnavailable:
                raise
            except (SQLAlchemyError, OSError) as exc:
                raise AuditUnavailable("audit append could not be committed") from exc
            else:
                return seq
        raise AuditUnavailable("audit append failed")  # pragma: no cover - the loop always returns or raises

    async def checkpoint(self, session: AsyncSession) -> Checkpoint:
        """Sign the current tree head and store it (flushed; the caller commits).

        Returns the stored checkpoint when one for the current size already exists.

        Raises:
            AuditUnavailable: when the database fails.
        """
        return await _guarded(self._checkpoint(session), "audit checkpoint")

    async def _checkpoint(self, session: AsyncSession) -> Checkpoint:
        await tree_store.lock_for_append(session)
        size = await tree_store.tree_size(session)
        existing = await session.get(AuditCheckpointRow, size)
        if existing is not None:
            return _checkpoint(existing)
        root = await self._root(session, size)
        note = sign_note(checkpoint_body(self.origin, size, root), self.origin, self.signing_key)
        row = AuditCheckpointRow(tree_size=size, root_hash=root, note=note, created_at=self._clock())
        session.add(row)
        await session.flush()
        return _checkpoint(row)

    async def _root(self, session: AsyncSession, size: int) -> bytes:
        if size == 0:
            return merkle.EMPTY_ROOT
        (root,) = await tree_store.range_hashes(session, [(0, size)])
        return root

    async def tree_head(self, session: AsyncSession, size: int | None = None) -> tuple[int, bytes]:
        """The (unsigned) tree size and root for `size` entries, or for the whole log."""

        async def work() -> tuple[int, bytes]:
            current = await tree_store.tree_size(session)
            wanted = current if size is None else size
            if not 0 <= wanted <= current:
                raise ValueError(f"the log has {current} entries, not {wanted}")
            return wanted, await self._root(session, wanted)

        return await _guarded(work(), "audit tree head")

    async def latest_checkpoint(self, session: AsyncSession) -> Checkpoint | None:
        """The checkpoint with the largest tree size, if any."""
        query = select(AuditCheckpointRow).order_by(AuditCheckpointRow.tree_size.desc()).limit(1)
        row = await _guarded(session.scalar(query), "audit checkpoint read")
        return None if row is None else _checkpoint(row)

    async def checkpoints(
        self, session: AsyncSession, *, min_size: int = 0, max_size: int | None = None
    ) -> list[Checkpoint]:
        """Stored checkpoints with `min_size <= tree_size <= max_size`, smallest first."""
        query = select(AuditCheckpointRow).where(AuditCheckpointRow.tree_size >= min_size)
        if max_size is not None:
            query = query.where(AuditCheckpointRow.tree_size <= max_size)
        rows = await _guarded(session.scalars(query.order_by(AuditCheckpointRow.tree_size)), "audit read")
        return [_checkpoint(row) for row in rows]

    async def entries(
        self,
        session: AsyncSession,
        *,
        start: int = 0,
        limit: int = 100,
        action: str | None = None,
        actor_subject: str | None = None,
        owner_ref: str | None = None,
        document_id: UUID | None = None,
    ) -> list[Entry]:
        """Entries with `seq >= start` matching every given filter, oldest first, at most `limit` (<= 1000)."""
        filters: Mapping[Any, object | None] = {
            AuditEntryRow.action: action,
            AuditEntryRow.actor_subject: actor_subject,
            AuditEntryRow.owner_ref: owner_ref,
            AuditEntryRow.document_id: document_id,
        }
        query = select(AuditEntryRow).where(AuditEntryRow.seq >= start)
        for column, value in filters.items():
            if value is not None:
                query = query.where(column == value)
        query = query.order_by(AuditEntryRow.seq).limit(max(1, min(limit, _MAX_PAGE)))
        rows = await _guarded(session.scalars(query), "audit read")
        return [Entry(row.seq, row.time, bytes(row.canonical), bytes(row.leaf_hash)) for row in rows]

    async def inclusion_proof(self, session: AsyncSession, seq: int, tree_size: int) -> list[bytes]:
        """The RFC 9162 inclusion proof of entry `seq` in the tree of `tree_size` entries.

        Raises:
            ValueError: when `seq` or `tree_size` is outside the log.
            AuditUnavailable: when the database fails.
        """

        async def work() -> list[bytes]:
            await self._check_size(session, tree_size)
            return await tree_store.range_hashes(session, merkle.inclusion_ranges(seq, tree_size))

        return await _guarded(work(), "audit inclusion proof")

    async def consistency_proof(self, session: AsyncSession, first: int, second: int) -> list[bytes]:
        """The RFC 9162 consistency proof between tree sizes `first` and `second`.

        Raises:
            ValueError: when the sizes are not `0 <= first <= second <= size of the log`.
            AuditUnavailable: when the database fails.
        """

        async def work() -> list[bytes]:
            await self._check_size(session, second)
            return await tree_store.range_hashes(session, merkle.consistency_ranges(first, second))

        return await _guarded(work(), "audit consistency proof")

    async def _check_size(self, session: AsyncSession, size: int) -> None:
        current = await tree_store.tree_size(session)
        if size > current:
            raise ValueError(f"the log has {current} entries, not {size}")

    async def export_bundle(self, session: AsyncSession, *, start: int = 0, end: int | None = None) -> dict[str, Any]:
        """An offline-verifiable bundle of entries `[start, end)`; see `vault.audit.bundle.export_bundle`."""
        from vault.audit.bundle import export_bundle

        return await _guarded(export_bundle(self, session, start=start, end=end), "audit export")


async def run_periodic_checkpoints(
    log: AuditLog,
    session_factory: async_sessionmaker[AsyncSession],
    interval_seconds: float,
    stop_event: asyncio.Event,
) -> None:
    """Sign a checkpoint every `interval_seconds` until `stop_event` is set (start it in the app lifespan).

    A failed round is logged and retried at the next tick; a last checkpoint is signed on stop.
    """
    while True:
        try:
            async with session_factory() as session, session.begin():
                await log.checkpoint(session)
        except (AuditUnavailable, SQLAlchemyError, OSError):
            logger.exception("periodic audit checkpoint failed")
        if stop_event.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop_event.wait(), timeout=interval_seconds)
