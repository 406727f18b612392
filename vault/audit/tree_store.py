"""The Merkle tree as stored rows: extend it by a batch of leaves, and compose tree heads and proofs from
O(log n) reads of stored perfect subtrees."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import cast

from sqlalchemy import Table, and_, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from vault.audit import merkle
from vault.audit.errors import AuditUnavailable
from vault.audit.models import AuditTreeNodeRow

__all__ = ("compact_range", "extend", "level_hashes", "range_hashes", "stored_tree_size")

Key = tuple[int, int]
_INSERT_CHUNK = 2000


async def stored_tree_size(session: AsyncSession) -> int:
    """The number of leaves in the stored tree (largest leaf index + 1), walking the primary key backwards."""
    last = await session.scalar(
        select(AuditTreeNodeRow.idx).where(AuditTreeNodeRow.level == 0).order_by(AuditTreeNodeRow.idx.desc()).limit(1)
    )
    return 0 if last is None else int(last) + 1


async def _read_nodes(session: AsyncSession, keys: Iterable[Key]) -> dict[Key, bytes]:
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    condition = or_(*(and_(AuditTreeNodeRow.level == lvl, AuditTreeNodeRow.idx == idx) for lvl, idx in wanted))
    rows = await session.execute(
        select(AuditTreeNodeRow.level, AuditTreeNodeRow.idx, AuditTreeNodeRow.hash).where(condition)
    )
    found = {(int(lvl), int(idx)): bytes(digest) for lvl, idx, digest in rows}
    missing = [key for key in wanted if key not in found]
    if missing:
        raise AuditUnavailable(f"the stored tree lacks nodes {missing[:4]}")
    return found


async def range_hashes(session: AsyncSession, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
    """The hashes of tree ranges, each composed from its stored perfect subtrees, in one query.

    Raises:
        AuditUnavailable: when a needed node row is missing (the tree table was damaged).
    """
    parts = [merkle.perfect_subtrees(lo, hi) for lo, hi in ranges]
    nodes = await _read_nodes(session, (key for part in parts for key in part))
    return [merkle.fold_subtrees([nodes[key] for key in part]) for part in parts]


async def compact_range(session: AsyncSession, size: int) -> merkle.CompactRange:
    """The compact range of the tree prefix `[0, size)`: its O(log n) perfect subtrees, read in one query."""
    keys = merkle.perfect_subtrees(0, size)
    nodes = await _read_nodes(session, keys)
    return merkle.CompactRange(size, [nodes[key] for key in keys])


async def extend(session: AsyncSession, compact: merkle.CompactRange, leaves: Sequence[bytes]) -> None:
    """Append `leaves` after `compact.size`, storing each leaf and every perfect subtree it completes.

    `compact` is advanced in place, so it describes the extended tree afterwards.
    """
    rows: list[dict[str, object]] = []
    for leaf in leaves:
        index = compact.size
        rows.append({"level": 0, "idx": index, "hash": leaf})
        for level, digest in enumerate(compact.append(leaf), start=1):
            rows.append({"level": level, "idx": ((index + 1) >> level) - 1, "hash": digest})
    connection = await session.connection()  # Core: `session.execute` would take the ORM's bulk-insert path
    table = cast(Table, AuditTreeNodeRow.__table__)
    for first in range(0, len(rows), _INSERT_CHUNK):
        await connection.execute(insert(table), rows[first : first + _INSERT_CHUNK])


async def level_hashes(session: AsyncSession, level: int, start: int, count: int) -> list[bytes]:
    """The stored hashes of `count` consecutive subtrees of one level, from index `start` (fewer if absent)."""
    rows = await session.scalars(
        select(AuditTreeNodeRow.hash)
        .where(AuditTreeNodeRow.level == level, AuditTreeNodeRow.idx >= start, AuditTreeNodeRow.idx < start + count)
        .order_by(AuditTreeNodeRow.idx)
    )
    return [bytes(digest) for digest in rows]
