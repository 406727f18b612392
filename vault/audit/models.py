"""Tables of the audit log: entries, the stored perfect subtrees of the Merkle tree, and signed checkpoints."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import BigInteger, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vault.core.base import Base

__all__ = ("AuditCheckpointRow", "AuditEntryRow", "AuditTreeNodeRow")


class AuditEntryRow(Base):
    """One log entry. `canonical` is the evidence; the other columns are copies for filtering only.

    Attributes:
        seq: position in the log, contiguous from 0 (also the leaf index).
        time: append time (UTC), copied from the canonical bytes.
        canonical: RFC 8785 JSON of the entry: the Merkle leaf.
        leaf_hash: RFC 9162 hash of `canonical`.
        action: copied for filtering.
        outcome: copied for filtering.
        actor_subject: copied for filtering.
        owner_ref: the owner pseudonym, copied for filtering.
        document_id: copied for filtering.
    """

    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    time: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    canonical: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    action: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    actor_subject: Mapped[str | None] = mapped_column(String(256), index=True)
    owner_ref: Mapped[str | None] = mapped_column(String(256), index=True)
    document_id: Mapped[UUID | None] = mapped_column(GUID, index=True)


class AuditTreeNodeRow(Base):
    """The hash of a complete perfect subtree, written once when its last leaf is appended.

    Level 0 holds the leaf hashes, so the largest level-0 index + 1 is the tree size. Any tree head or proof
    is composed from O(log n) of these rows.

    Attributes:
        level: height of the subtree (0 for a leaf).
        idx: position of the subtree among those of its level.
        hash: RFC 9162 hash of the subtree.
    """

    __tablename__ = "audit_tree_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditCheckpointRow(Base):
    """A signed tree head, one per tree size.

    Attributes:
        tree_size: how many entries the root covers.
        root_hash: the RFC 9162 tree head.
        note: the C2SP tlog-checkpoint signed note.
        created_at: when it was signed.
    """

    __tablename__ = "audit_checkpoints"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
