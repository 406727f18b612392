"""What the auditor API answers, as msgspec structs (so OpenAPI documents them)."""

from __future__ import annotations

import base64
from typing import Any, Literal

import msgspec

from vault.audit.log import Checkpoint, Entry
from vault.audit.queue import QueueStatus

__all__ = ("CheckpointRead", "EntryRead", "LogKey", "ProofRead", "QueueStatusRead")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class EntryRead(msgspec.Struct, frozen=True):
    """One sequenced log entry: its canonical form (the Merkle leaf, base64) and the decoded record."""

    seq: int
    leaf_hash: str
    canonical: str
    record: dict[str, Any]

    @classmethod
    def of(cls, entry: Entry) -> EntryRead:
        """The answer for a stored entry."""
        return cls(entry.seq, _b64(entry.leaf_hash), _b64(entry.canonical), entry.record)


class CheckpointRead(msgspec.Struct, frozen=True):
    """A signed tree head as a C2SP tlog-checkpoint signed note."""

    tree_size: int
    root_hash: str
    note: str
    created_at: str

    @classmethod
    def of(cls, checkpoint: Checkpoint) -> CheckpointRead:
        """The answer for a checkpoint."""
        return cls(checkpoint.tree_size, _b64(checkpoint.root_hash), checkpoint.note, checkpoint.created_at.isoformat())


class ProofRead(msgspec.Struct, frozen=True):
    """An RFC 9162 proof (base64 hashes, in verification order)."""

    kind: Literal["inclusion", "consistency"]
    first: int
    second: int
    hashes: list[str]

    @classmethod
    def of(cls, kind: Literal["inclusion", "consistency"], first: int, second: int, hashes: list[bytes]) -> ProofRead:
        """The answer for a proof."""
        return cls(kind, first, second, [_b64(h) for h in hashes])


class QueueStatusRead(msgspec.Struct, frozen=True):
    """Where an accepted entry stands: `pending` (accepted, not yet sequenced), `sequenced` (with its `seq`),
    or `unknown` (never committed)."""

    queue_id: int
    state: Literal["pending", "sequenced", "unknown"]
    seq: int | None

    @classmethod
    def of(cls, status: QueueStatus) -> QueueStatusRead:
        """The answer for a queue status."""
        return cls(status.queue_id, status.state, status.seq)


class LogKey(msgspec.Struct, frozen=True):
    """The log's checkpoint verifier key: pin it out of band and pass it to `vault audit verify --key`."""

    origin: str
    note_verifier: str
