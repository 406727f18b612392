"""Export of an offline-verifiable audit bundle (see `vault.audit.bundle`), streamed page by page.

The small part (key, checkpoints, proofs, prefix) is prepared first, so a bad range fails before a byte is
sent; the entries and the tree's leaf hashes then stream in pages of `PAGE` rows, each page in a short
transaction of its own (sequenced entries never change, so the pages agree with the prepared checkpoints).
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vault.audit import merkle, tree_store
from vault.audit.bundle import BUNDLE_FORMAT, b64
from vault.audit.entry import format_time
from vault.audit.errors import AuditError, AuditRangeError
from vault.audit.log import AuditLog, Checkpoint, guarded
from vault.audit.models import AuditEntryRow, AuditTreeNodeRow
from vault.audit.note import public_key_bytes

__all__ = ("PAGE", "ExportPlan", "plan_export", "stream_bundle")

PAGE = 1000
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportPlan:
    """What an export covers, prepared before streaming.

    Attributes:
        start: first entry exported.
        end: one past the last entry exported.
        header: every bundle field but `entries` and `tree_leaf_hashes`.
    """

    start: int
    end: int
    header: dict[str, Any]


async def _export_end(log: AuditLog, session: AsyncSession, end: int | None) -> int:
    """An explicit `end` as given; by default the latest signed checkpoint's size (the tree size if none)."""
    if end is not None:
        return end
    latest = await log.latest_checkpoint(session)
    return latest.tree_size if latest is not None else await log.tree_size(session)


async def _checkpoints(log: AuditLog, session: AsyncSession, start: int, end: int) -> list[Checkpoint]:
    kept = {cp.tree_size: cp for cp in await log.checkpoints(session, min_size=start, max_size=end)}
    head = await log.head(session)
    if head is not None and start <= head.tree_size <= end:
        kept.setdefault(head.tree_size, head)
    return [kept[size] for size in sorted(kept)]


async def _consistency_proofs(log: AuditLog, session: AsyncSession, sizes: list[int]) -> list[dict[str, Any]]:
    """Proofs between consecutive checkpoints; one the damaged tree cannot give is left out for the verifier."""
    proofs = []
    for first, second in itertools.pairwise(sizes):
        try:
            proof = await log.consistency_proof(session, first, second)
        except AuditError:
            logger.warning("audit export: no consistency proof from %d to %d", first, second)
            continue
        proofs.append({"first": first, "second": second, "proof": [b64(h) for h in proof]})
    return proofs


async def plan_export(log: AuditLog, session: AsyncSession, *, start: int = 0, end: int | None = None) -> ExportPlan:
    """Prepare the export of entries `[start, end)`.

    `end` defaults to the size of the latest signed checkpoint, so every exported entry is covered by a
    signature; an explicit `end` is honoured (an auditor holding an older, larger checkpoint asks for
    everything up to its size and adds it to the bundle).

    Raises:
        AuditRangeError: when `start` is negative or after `end`.
        AuditUnavailable: when the database fails.
    """
    if start < 0 or (end is not None and end < start):
        raise AuditRangeError(f"cannot export entries [{start}, {end})")
    end = await _export_end(log, session, end)
    if end < start:
        raise AuditRangeError(f"cannot export entries [{start}, {end})")
    checkpoints = await _checkpoints(log, session, start, end)
    proofs = await _consistency_proofs(log, session, [cp.tree_size for cp in checkpoints])
    prefix_ranges = [(idx << lvl, (idx + 1) << lvl) for lvl, idx in merkle.perfect_subtrees(0, start)]
    prefix = await guarded(tree_store.range_hashes(session, prefix_ranges), "audit export")
    header = {
        "format": BUNDLE_FORMAT,
        "origin": log.origin,
        "public_key": b64(public_key_bytes(log.signing_key)),
        "note_verifier": log.note_verifier,
        "start": start,
        "end": end,
        "prefix": [b64(h) for h in prefix],
        "checkpoints": [
            {"tree_size": cp.tree_size, "root_hash": b64(cp.root_hash), "note": cp.note} for cp in checkpoints
        ],
        "consistency_proofs": proofs,
    }
    return ExportPlan(start, end, header)


def _entry(row: AuditEntryRow) -> dict[str, Any]:
    return {
        "seq": int(row.seq),
        "canonical": b64(bytes(row.canonical)),
        "columns": {
            "time": format_time(row.time),
            "action": row.action,
            "outcome": row.outcome,
            "actor_ref": row.actor_ref,
            "owner_ref": row.owner_ref,
            "document_id": None if row.document_id is None else str(row.document_id),
            "leaf_hash": b64(bytes(row.leaf_hash)),
        },
    }


async def _entry_pages(sessions: async_sessionmaker[AsyncSession], start: int, end: int) -> AsyncIterator[list[str]]:
    """The stored entries of `[start, end)`, a page at a time, each page starting after the last row read: the
    cost follows the rows there are, not the width of the range (an `end` far past the log is cheap)."""
    low = start
    while low < end:
        async with sessions() as session:
            rows = list(
                await guarded(
                    session.scalars(
                        select(AuditEntryRow)
                        .where(AuditEntryRow.seq >= low, AuditEntryRow.seq < end)
                        .order_by(AuditEntryRow.seq)
                        .limit(PAGE)
                    ),
                    "audit export",
                )
            )
        if not rows:
            return
        yield [json.dumps(_entry(row)) for row in rows]
        low = int(rows[-1].seq) + 1


async def _leaf_pages(sessions: async_sessionmaker[AsyncSession], start: int, end: int) -> AsyncIterator[list[str]]:
    """The stored leaf hashes of `[start, end)` (fewer where absent), paged like the entries."""
    low = start
    while low < end:
        async with sessions() as session:
            rows = (
                await guarded(
                    session.execute(
                        select(AuditTreeNodeRow.idx, AuditTreeNodeRow.hash)
                        .where(AuditTreeNodeRow.level == 0, AuditTreeNodeRow.idx >= low, AuditTreeNodeRow.idx < end)
                        .order_by(AuditTreeNodeRow.idx)
                        .limit(PAGE)
                    ),
                    "audit export",
                )
            ).all()
        if not rows:
            return
        yield [json.dumps(b64(bytes(digest))) for _, digest in rows]
        low = int(rows[-1][0]) + 1


async def _array(pages: AsyncIterator[list[str]]) -> AsyncIterator[bytes]:
    first = True
    async for items in pages:
        if items:
            yield (("" if first else ",") + ",".join(items)).encode()
            first = False


async def stream_bundle(plan: ExportPlan, sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[bytes]:
    """The bundle as JSON bytes, a page at a time (memory stays at one page whatever the log's size)."""
    yield json.dumps(plan.header)[:-1].encode() + b', "entries": ['
    async for chunk in _array(_entry_pages(sessions, plan.start, plan.end)):
        yield chunk
    yield b'], "tree_leaf_hashes": ['
    async for chunk in _array(_leaf_pages(sessions, plan.start, plan.end)):
        yield chunk
    yield b"]}"
