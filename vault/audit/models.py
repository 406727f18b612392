"""Tables of the audit log: the unsequenced queue, sequenced entries, the stored perfect subtrees of the Merkle
tree, the latest signed tree head, and the history of signed checkpoints."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import BigInteger, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vault.core.base import Base

__all__ = ("AuditCheckpointRow", "AuditEntryRow", "AuditHeadRow", "AuditQueueRow", "AuditTreeNodeRow")

# SQLite only autoincrements an INTEGER PRIMARY KEY (the rowid); PostgreSQL gets a BIGINT identity.
_QUEUE_ID = BigInteger().with_variant(Integer(), "sqlite")


class AuditQueueRow(Base):
    """An accepted entry not yet sequenced. Written in the caller's transaction; removed when integrated.

    Attributes:
        id: the queue id an append returns ("accepted, not yet sequenced" until an entry names it).
        queued_us: the database clock when the entry was queued (microseconds since the Unix epoch).
        body: the RFC 8785 record of the event without `seq` and `time`.
    """

    __tablename__ = "audit_queue"
    # AUTOINCREMENT: SQLite would otherwise reuse the ids of integrated (deleted) rows; queue ids stay unique.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(_QUEUE_ID, primary_key=True, autoincrement=True)
    queued_us: Mapped[int] = mapped_column(BigInteger)
    body: Mapped[bytes] = mapped_column(LargeBinary)


class AuditEntryRow(Base):
    """One sequenced log entry. `canonical` is the evidence; the other columns are copies for filtering only.

    Attributes:
        seq: position in the log, contiguous from 0 (also the leaf index).
        time: the entry's time (database clock, never decreasing), copied from the canonical bytes.
        canonical: RFC 8785 JSON of the entry: the Merkle leaf.
        leaf_hash: RFC 9162 hash of `canonical`.
        action: copied for filtering.
        outcome: copied for filtering.
        actor_ref: the actor pseudonym, copied for filtering.
        owner_ref: the owner pseudonym, copied for filtering.
        document_id: copied for filtering.
        queue_id: the queue id the entry was accepted under (answers "was it sequenced, and where").
    """

    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    time: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    canonical: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    action: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    actor_ref: Mapped[str | None] = mapped_column(String(256), index=True)
    owner_ref: Mapped[str | None] = mapped_column(String(256), index=True)
    document_id: Mapped[UUID | None] = mapped_column(GUID, index=True)
    queue_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)


class AuditTreeNodeRow(Base):
    """The hash of a complete perfect subtree, written once when its last leaf is sequenced.

    Level 0 holds the leaf hashes. Any tree head or proof is composed from O(log n) of these rows, and a
    tlog-tiles hash tile at tile level L is the rows of level 8L.

    Attributes:
        level: height of the subtree (0 for a leaf).
        idx: position of the subtree among those of its level.
        hash: RFC 9162 hash of the subtree.
    """

    __tablename__ = "audit_tree_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditHeadRow(Base):
    """The latest signed tree head, one row, rewritten by the integrator in the transaction of each batch.

    Attributes:
        id: always 1.
        tree_size: how many entries are sequenced.
        root_hash: the RFC 9162 tree head.
        note: the C2SP tlog-checkpoint signed note of that head (served at `/audit/checkpoint`).
        updated_at: the time of the newest entry the head covers (database clock, never decreasing).
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))


class AuditCheckpointRow(Base):
    """A signed tree head kept in the history (periodically and on demand), one per tree size.

    Attributes:
        tree_size: how many entries the root covers.
        root_hash: the RFC 9162 tree head.
        note: the C2SP tlog-checkpoint signed note.
        created_at: when it was kept.
    """

    __tablename__ = "audit_checkpoints"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
