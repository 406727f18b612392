"""Export of an offline-verifiable audit bundle (the format `vault.audit.verify` checks).

Bundle fields (JSON; binary values are standard base64):
    format: `BUNDLE_FORMAT`.
    origin, public_key (raw Ed25519), note_verifier (the signed-note verifier key string).
    start, end: the entries exported are `[start, end)` (those present in the database).
    prefix: hashes of the perfect subtrees covering `[0, start)`, so roots can be recomputed from `start` on.
    checkpoints: every stored checkpoint with `start <= tree_size <= end` (`tree_size`, `root_hash`, `note`).
    consistency_proofs: one per pair of consecutive checkpoints (`first`, `second`, `proof`).
    entries: `seq` (the stored position), `canonical` (the RFC 8785 leaf bytes) and `columns` (the row's
        filter columns as stored, which must agree with the canonical record, else filtered queries lie).
    tree_leaf_hashes: the leaf hashes the stored tree recorded for positions `[start, end)` when each entry
        was appended. When they reproduce the signed roots they are authentic, and the first position where
        an entry's hash differs from them is exactly the entry that was changed, deleted or moved.
"""

from __future__ import annotations

import base64
import itertools
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vault.audit import merkle, tree_store
from vault.audit.entry import format_time
from vault.audit.log import AuditUnavailable
from vault.audit.models import AuditEntryRow, AuditTreeNodeRow
from vault.audit.note import public_key_bytes, public_key_note_verifier

if TYPE_CHECKING:
    from vault.audit.log import AuditLog

__all__ = ("BUNDLE_FORMAT", "export_bundle")

BUNDLE_FORMAT = "citizen-vault/audit-bundle/v1"
logger = logging.getLogger(__name__)


def b64(data: bytes) -> str:
    """Standard base64 text of bytes."""
    return base64.b64encode(data).decode()


async def _export_end(log: AuditLog, session: AsyncSession, end: int | None) -> int:
    """An explicit `end` as given; by default the latest checkpoint's size (the tree size if none yet)."""
    if end is not None:
        return end
    latest = await log.latest_checkpoint(session)
    return latest.tree_size if latest is not None else await tree_store.tree_size(session)


def _columns(row: Any) -> dict[str, Any]:
    return {
        "time": format_time(row.time),
        "action": row.action,
        "outcome": row.outcome,
        "actor_subject": row.actor_subject,
        "owner_ref": row.owner_ref,
        "document_id": None if row.document_id is None else str(row.document_id),
        "leaf_hash": b64(bytes(row.leaf_hash)),
    }


async def _entries(session: AsyncSession, start: int, end: int) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(AuditEntryRow).where(AuditEntryRow.seq >= start, AuditEntryRow.seq < end).order_by(AuditEntryRow.seq)
    )
    return [{"seq": int(row.seq), "canonical": b64(bytes(row.canonical)), "columns": _columns(row)} for row in rows]


async def _tree_leaf_hashes(session: AsyncSession, start: int, end: int) -> list[str]:
    leaves = await session.scalars(
        select(AuditTreeNodeRow.hash)
        .where(AuditTreeNodeRow.level == 0, AuditTreeNodeRow.idx >= start, AuditTreeNodeRow.idx < end)
        .order_by(AuditTreeNodeRow.idx)
    )
    return [b64(bytes(digest)) for digest in leaves]


async def _consistency_proofs(log: AuditLog, session: AsyncSession, sizes: list[int]) -> list[dict[str, Any]]:
    """Proofs between consecutive checkpoints; one the damaged tree cannot give is left out for the verifier."""
    proofs = []
    for first, second in itertools.pairwise(sizes):
        try:
            proof = await log.consistency_proof(session, first, second)
        except (ValueError, AuditUnavailable):
            logger.warning("audit export: no consistency proof from %d to %d", first, second)
            continue
        proofs.append({"first": first, "second": second, "proof": [b64(h) for h in proof]})
    return proofs


async def export_bundle(
    log: AuditLog, session: AsyncSession, *, start: int = 0, end: int | None = None
) -> dict[str, Any]:
    """Build a JSON-ready bundle of the entries `[start, end)` with what an offline verifier needs.

    `end` defaults to the size of the latest checkpoint, so every exported entry is covered by a signature;
    an explicit `end` is honoured (an auditor holding an older, larger checkpoint asks for everything up to
    its size and adds it to the bundle).

    Raises:
        ValueError: when `start` is negative or after `end`.
    """
    if start < 0 or (end is not None and end < start):
        raise ValueError(f"cannot export entries [{start}, {end})")
    end = await _export_end(log, session, end)
    checkpoints = await log.checkpoints(session, min_size=start, max_size=end)
    proofs = await _consistency_proofs(log, session, [cp.tree_size for cp in checkpoints])
    prefix_ranges = [(idx << lvl, (idx + 1) << lvl) for lvl, idx in merkle.perfect_subtrees(0, start)]
    prefix = await tree_store.range_hashes(session, prefix_ranges)
    return {
        "format": BUNDLE_FORMAT,
        "origin": log.origin,
        "public_key": b64(public_key_bytes(log.signing_key)),
        "note_verifier": public_key_note_verifier(log.origin, log.signing_key),
        "start": start,
        "end": end,
        "prefix": [b64(h) for h in prefix],
        "checkpoints": [
            {"tree_size": cp.tree_size, "root_hash": b64(cp.root_hash), "note": cp.note} for cp in checkpoints
        ],
        "consistency_proofs": proofs,
        "entries": await _entries(session, start, end),
        "tree_leaf_hashes": await _tree_leaf_hashes(session, start, end),
    }
