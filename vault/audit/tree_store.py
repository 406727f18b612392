"""The Merkle tree as stored rows: append a leaf, and compose tree heads and proofs from O(log n) reads."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import and_, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import ScalarSelect

from vault.audit import merkle
from vault.audit.models import AuditTreeNodeRow

__all__ = ("ADVISORY_LOCK_KEY", "append_leaf", "last_leaf_index", "lock_for_append", "range_hashes", "tree_size")

# Constant key of the PostgreSQL advisory lock that serialises appends across instances ("vaultlog").
ADVISORY_LOCK_KEY = 0x7661756C746C6F67

Key = tuple[int, int]


async def lock_for_append(session: AsyncSession) -> None:
    """Take the log's write lock for the rest of the session's transaction.

    PostgreSQL: a transaction-scoped advisory lock, so appends from every instance queue up. SQLite: a no-op
    UPDATE as the first audit statement takes the database write lock before anything is read, so two
    writers cannot both read the same tree size (SQLite serialises writers; this makes the read part of it).
    """
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    else:
        await session.execute(update(AuditTreeNodeRow).where(text("1 = 0")).values(level=AuditTreeNodeRow.level))


def last_leaf_index() -> ScalarSelect[int]:
    """A scalar subquery: the largest stored leaf index (NULL for an empty tree)."""
    # ORDER BY ... LIMIT 1 walks the primary key (level, idx) backwards: O(log n) on every database.
    return (
        select(AuditTreeNodeRow.idx)
        .where(AuditTreeNodeRow.level == 0)
        .order_by(AuditTreeNodeRow.idx.desc())
        .limit(1)
        .scalar_subquery()
    )


async def tree_size(session: AsyncSession) -> int:
    """The number of leaves in the stored tree (largest leaf index + 1)."""
    last = await session.scalar(select(last_leaf_index()))
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
        raise LookupError(f"the stored tree lacks nodes {missing[:4]}")
    return found


async def range_hashes(session: AsyncSession, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
    """The hashes of tree ranges, each composed from its stored perfect subtrees, in one query.

    Raises:
        LookupError: when a needed node row is missing (the tree table was damaged).
    """
    parts = [merkle.perfect_subtrees(lo, hi) for lo, hi in ranges]
    nodes = await _read_nodes(session, (key for part in parts for key in part))
    return [merkle.fold_subtrees([nodes[key] for key in part]) for part in parts]


def completed_parents(index: int) -> list[Key]:
    """The subtrees (level >= 1) that become complete when leaf `index` is appended, lowest first."""
    keys: list[Key] = []
    level, count = 1, index + 1
    while count % (1 << level) == 0:
        keys.append((level, (count >> level) - 1))
        level += 1
    return keys


async def append_leaf(session: AsyncSession, index: int, leaf: bytes) -> None:
    """Store leaf `index` and every perfect subtree it completes (at most log2(n) + 1 rows)."""
    parents = completed_parents(index)
    left_keys = [(level - 1, 2 * idx) for level, idx in parents]
    lefts = await _read_nodes(session, left_keys)
    rows = [{"level": 0, "idx": index, "hash": leaf}]
    current = leaf
    for (level, idx), left_key in zip(parents, left_keys, strict=True):
        current = merkle.node_hash(lefts[left_key], current)
        rows.append({"level": level, "idx": idx, "hash": current})
    await session.execute(insert(AuditTreeNodeRow), rows)
