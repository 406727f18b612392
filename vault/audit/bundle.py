"""Export of an offline-verifiable audit bundle (the format `vault.audit.verify` checks).

Bundle fields (JSON; binary values are standard base64):
    format: `BUNDLE_FORMAT`.
    origin, public_key (raw Ed25519), note_verifier (the signed-note verifier key string).
    start, end: the entries exported are `[start, end)`; `end` is always the size of a signed checkpoint.
    prefix: hashes of the perfect subtrees covering `[0, start)`, so roots can be recomputed from `start` on.
    checkpoints: every stored checkpoint with `start <= tree_size <= end` (`tree_size`, `root_hash`, `note`).
    consistency_proofs: one per pair of consecutive checkpoints (`first`, `second`, `proof`).
    entries: `seq` (the stored position), `canonical` (the RFC 8785 leaf bytes) and `tree_leaf_hash` (the
        leaf hash the stored tree recorded at that position when the entry was appended; lets the verifier
        name the exact entry that was changed after the fact).
"""

from __future__ import annotations

import base64
import itertools
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vault.audit import merkle, tree_store
from vault.audit.models import AuditEntryRow, AuditTreeNodeRow
from vault.audit.note import public_key_bytes, public_key_note_verifier

if TYPE_CHECKING:
    from vault.audit.log import AuditLog

__all__ = ("BUNDLE_FORMAT", "export_bundle")

BUNDLE_FORMAT = "citizen-vault/audit-bundle/v1"


def b64(data: bytes) -> str:
    """Standard base64 text of bytes."""
    return base64.b64encode(data).decode()


async def _covered_end(log: AuditLog, session: AsyncSession, start: int, end: int | None) -> int:
    """The largest checkpointed size at most `end`; entries past it carry no signature to verify."""
    checkpoints = await log.checkpoints(session, min_size=start, max_size=end)
    return checkpoints[-1].tree_size if checkpoints else start


async def _entries(session: AsyncSession, start: int, end: int) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(AuditEntryRow.seq, AuditEntryRow.canonical)
        .where(AuditEntryRow.seq >= start, AuditEntryRow.seq < end)
        .order_by(AuditEntryRow.seq)
    )
    leaves = await session.execute(
        select(AuditTreeNodeRow.idx, AuditTreeNodeRow.hash).where(
            AuditTreeNodeRow.level == 0, AuditTreeNodeRow.idx >= start, AuditTreeNodeRow.idx < end
        )
    )
    recorded = {int(idx): bytes(digest) for idx, digest in leaves}
    return [
        {"seq": int(seq), "canonical": b64(bytes(canonical)), "tree_leaf_hash": b64(recorded.get(int(seq), b""))}
        for seq, canonical in rows
    ]


async def export_bundle(
    log: AuditLog, session: AsyncSession, *, start: int = 0, end: int | None = None
) -> dict[str, Any]:
    """Build a JSON-ready bundle of the entries `[start, end)` with what an offline verifier needs.

    `end` defaults to (and is lowered to) the size of the latest checkpoint at most `end`; sign a checkpoint
    first to export recent entries.

    Raises:
        ValueError: when `start` is negative or after `end`.
    """
    if start < 0 or (end is not None and end < start):
        raise ValueError(f"cannot export entries [{start}, {end})")
    end = await _covered_end(log, session, start, end)
    checkpoints = await log.checkpoints(session, min_size=start, max_size=end)
    proofs = []
    for older, newer in itertools.pairwise(checkpoints):
        proof = await log.consistency_proof(session, older.tree_size, newer.tree_size)
        proofs.append({"first": older.tree_size, "second": newer.tree_size, "proof": [b64(h) for h in proof]})
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
    }
