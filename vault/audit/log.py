"""The audit log over the database: queue entries, read the sequenced log, keep checkpoints, answer proofs.

Writing is split (the Trillian/Tessera design): `queue` is one INSERT in the caller's transaction and the
`Integrator` (vault.audit.integrator) sequences the queue in batches, extends the tree and signs the head.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from vault.audit import merkle, tree_store
from vault.audit.entry import AuditEvent
from vault.audit.errors import AuditConflict, AuditRangeError, AuditUnavailable
from vault.audit.models import AuditCheckpointRow, AuditEntryRow, AuditHeadRow
from vault.audit.note import check_key_name, checkpoint_body, public_key_note_verifier, sign_note
from vault.audit.queue import QueueStatus, database_clock_us, dialect_name, enqueue, from_micros, queue_status

__all__ = ("MAX_PAGE", "AuditLog", "Checkpoint", "Entry", "guarded")

T = TypeVar("T")
MAX_PAGE = 1000


async def guarded(work: Awaitable[T], what: str) -> T:
    """Run database work, turning driver and SQLAlchemy failures into `AuditUnavailable`."""
    try:
        return await work
    except IntegrityError as exc:
        raise AuditConflict(f"{what}: conflicting concurrent write") from exc
    except (SQLAlchemyError, OSError) as exc:
        raise AuditUnavailable(f"{what} failed") from exc


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head.

    Attributes:
        tree_size: number of entries covered.
        root_hash: the RFC 9162 tree head.
        note: the C2SP tlog-checkpoint signed note.
        created_at: when it was signed (database clock).
    """

    tree_size: int
    root_hash: bytes
    note: str
    created_at: datetime


@dataclass(frozen=True)
class Entry:
    """A sequenced entry; `canonical` is the evidence and `record` its decoded form.

    Attributes:
        seq: position in the log.
        time: the entry's time.
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


def _checkpoint(row: AuditCheckpointRow | AuditHeadRow) -> Checkpoint:
    created = row.created_at if isinstance(row, AuditCheckpointRow) else row.updated_at
    return Checkpoint(int(row.tree_size), bytes(row.root_hash), row.note, created)


class AuditLog:
    """A transparency log of audit entries stored in the service database.

    Args:
        origin: the log's identity, the first line of every checkpoint and the signing key's name.
        signing_key: the Ed25519 key that signs checkpoints.
    """

    def __init__(self, origin: str, signing_key: Ed25519PrivateKey) -> None:
        check_key_name(origin)
        self.origin = origin
        self.signing_key = signing_key

    @property
    def note_verifier(self) -> str:
        """The checkpoint verifier key string (`origin+hash+key`) auditors pin."""
        return public_key_note_verifier(self.origin, self.signing_key)

    def sign(self, tree_size: int, root_hash: bytes) -> str:
        """The signed C2SP checkpoint note of a tree head (Ed25519 is deterministic: same head, same note)."""
        return sign_note(checkpoint_body(self.origin, tree_size, root_hash), self.origin, self.signing_key)

    async def queue(self, session: AsyncSession, event: AuditEvent) -> int:
        """Queue an entry inside the caller's transaction (no lock); it commits or vanishes with their rows.

        Returns:
            The queue id (see `status`).

        Raises:
            AuditUnavailable: when the database refuses the row.
        """
        return await guarded(enqueue(session, event), "audit append")

    async def status(self, session: AsyncSession, queue_id: int) -> QueueStatus:
        """Whether the entry accepted under `queue_id` is sequenced yet, and where."""
        return await guarded(queue_status(session, queue_id), "audit status")

    async def head(self, session: AsyncSession) -> Checkpoint | None:
        """The latest signed tree head (rewritten by every integrated batch), if any batch ran yet."""
        row = await guarded(session.get(AuditHeadRow, 1), "audit head")
        return None if row is None else _checkpoint(row)

    async def tree_size(self, session: AsyncSession) -> int:
        """How many entries are sequenced (the head's size; the stored tree's when no head was signed)."""
        head = await self.head(session)
        if head is not None:
            return head.tree_size
        return await guarded(tree_store.stored_tree_size(session), "audit tree size")

    async def root(self, session: AsyncSession, size: int) -> bytes:
        """The root of the first `size` entries, composed from stored subtrees."""
        if size == 0:
            return merkle.EMPTY_ROOT
        (root,) = await guarded(tree_store.range_hashes(session, [(0, size)]), "audit tree head")
        return root

    async def tree_head(self, session: AsyncSession, size: int | None = None) -> tuple[int, bytes]:
        """The (unsigned) tree size and root for `size` entries, or for the whole sequenced log.

        Raises:
            AuditRangeError: when `size` is beyond the sequenced log.
        """
        wanted = await self._check_size(session, size)
        return wanted, await self.root(session, wanted)

    async def latest_checkpoint(self, session: AsyncSession) -> Checkpoint | None:
        """The newest signed checkpoint: the head, else the largest kept in the history."""
        head = await self.head(session)
        if head is not None:
            return head
        query = select(AuditCheckpointRow).order_by(AuditCheckpointRow.tree_size.desc()).limit(1)
        row = await guarded(session.scalar(query), "audit checkpoint read")
        return None if row is None else _checkpoint(row)

    async def checkpoint(self, session: AsyncSession, now: datetime | None = None) -> Checkpoint:
        """Keep a checkpoint of the sequenced log in the history (flushed; the caller commits).

        Returns the kept checkpoint when one for the current size already exists.
        """

        async def work() -> Checkpoint:
            size = await self.tree_size(session)
            existing = await session.get(AuditCheckpointRow, size)
            if existing is not None:
                return _checkpoint(existing)
            root = await self.root(session, size)
            moment = now or from_micros(int(await session.scalar(select(_clock(session))) or 0))
            row = AuditCheckpointRow(tree_size=size, root_hash=root, note=self.sign(size, root), created_at=moment)
            session.add(row)
            await session.flush()
            return _checkpoint(row)

        return await guarded(work(), "audit checkpoint")

    async def checkpoints(
        self, session: AsyncSession, *, min_size: int = 0, max_size: int | None = None
    ) -> list[Checkpoint]:
        """Checkpoints kept in the history with `min_size <= tree_size <= max_size`, smallest first."""
        query = select(AuditCheckpointRow).where(AuditCheckpointRow.tree_size >= min_size)
        if max_size is not None:
            query = query.where(AuditCheckpointRow.tree_size <= max_size)
        rows = await guarded(session.scalars(query.order_by(AuditCheckpointRow.tree_size)), "audit read")
        return [_checkpoint(row) for row in rows]

    async def entries(
        self,
        session: AsyncSession,
        *,
        start: int = 0,
        limit: int = 100,
        action: str | None = None,
        actor_ref: str | None = None,
        owner_ref: str | None = None,
        document_id: UUID | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Entry]:
        """Entries with `seq >= start` matching every given filter, oldest first, at most `limit` (<= 1000);
        `since` and `until` bound the entry time (`since <= time < until`)."""
        filters: Mapping[Any, object | None] = {
            AuditEntryRow.action: action,
            AuditEntryRow.actor_ref: actor_ref,
            AuditEntryRow.owner_ref: owner_ref,
            AuditEntryRow.document_id: document_id,
        }
        query = select(AuditEntryRow).where(AuditEntryRow.seq >= start)
        for column, value in filters.items():
            if value is not None:
                query = query.where(column == value)
        if since is not None:
            query = query.where(AuditEntryRow.time >= since)
        if until is not None:
            query = query.where(AuditEntryRow.time < until)
        query = query.order_by(AuditEntryRow.seq).limit(max(1, min(limit, MAX_PAGE)))
        rows = await guarded(session.scalars(query), "audit read")
        return [Entry(row.seq, row.time, bytes(row.canonical), bytes(row.leaf_hash)) for row in rows]

    async def inclusion_proof(self, session: AsyncSession, seq: int, tree_size: int) -> list[bytes]:
        """The RFC 9162 inclusion proof of entry `seq` in the tree of `tree_size` entries.

        Raises:
            AuditRangeError: when `seq` or `tree_size` is outside the sequenced log.
        """
        await self._check_size(session, tree_size)
        if not 0 <= seq < tree_size:
            raise AuditRangeError(f"entry {seq} is not in a tree of {tree_size} entries")
        ranges = merkle.inclusion_ranges(seq, tree_size)
        return await guarded(tree_store.range_hashes(session, ranges), "audit inclusion proof")

    async def consistency_proof(self, session: AsyncSession, first: int, second: int) -> list[bytes]:
        """The RFC 9162 consistency proof between tree sizes `first` and `second`.

        Raises:
            AuditRangeError: when the sizes are not `0 <= first <= second <= size of the log`.
        """
        await self._check_size(session, second)
        if not 0 <= first <= second:
            raise AuditRangeError(f"no consistency proof from size {first} to size {second}")
        ranges = merkle.consistency_ranges(first, second)
        return await guarded(tree_store.range_hashes(session, ranges), "audit consistency proof")

    async def _check_size(self, session: AsyncSession, size: int | None) -> int:
        current = await self.tree_size(session)
        wanted = current if size is None else size
        if not 0 <= wanted <= current:
            raise AuditRangeError(f"the log has {current} sequenced entries, not {wanted}")
        return wanted


def _clock(session: AsyncSession) -> Any:
    return database_clock_us(dialect_name(session))
