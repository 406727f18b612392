"""The log published in the C2SP tlog-tiles layout: a checkpoint, immutable hash tiles and entry bundles.

Paths (below the log's prefix, `/audit/` in the service):
    checkpoint                    the latest signed checkpoint (C2SP tlog-checkpoint)
    tile/<L>/<N>[.p/<W>]          hash tile: the hashes of tree level 8L, nodes 256N .. 256N+W-1
    tile/entries/<N>[.p/<W>]      entry bundle: entries 256N .. 256N+W-1, each as big-endian u16 length + bytes
A full tile has W = 256 and no `.p/W` suffix. N is written in 3-digit groups, all but the last prefixed with
`x` (1234067 -> `x001/x234/067`). A tile's bytes never change once it exists: the stored perfect subtrees of
level 8L are exactly its hashes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vault.audit import tree_store
from vault.audit.errors import AuditNotFound
from vault.audit.log import guarded
from vault.audit.models import AuditEntryRow

__all__ = ("TILE_HEIGHT", "TILE_WIDTH", "TilePath", "encode_index", "parse_tile_path", "read_tile", "tile_path")

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
_MAX_LEVEL = 63 // TILE_HEIGHT
_GROUP = re.compile(r"x\d{3}")
_LAST = re.compile(r"\d{3}")


@dataclass(frozen=True)
class TilePath:
    """One tile.

    Attributes:
        level: the tile level L (hash tile of tree level 8L), or None for an entry bundle.
        index: the tile index N.
        width: how many hashes or entries it holds (256 for a full tile).
    """

    level: int | None
    index: int
    width: int


def encode_index(index: int) -> str:
    """The path form of a tile index: 3-digit groups, all but the last prefixed with `x`."""
    text = str(index)
    text = "0" * (-len(text) % 3) + text
    groups = [text[i : i + 3] for i in range(0, len(text), 3)]
    return "/".join([f"x{group}" for group in groups[:-1]] + [groups[-1]])


def tile_path(tile: TilePath) -> str:
    """The path of a tile below the log's prefix (`tile/...`)."""
    kind = "entries" if tile.level is None else str(tile.level)
    suffix = "" if tile.width == TILE_WIDTH else f".p/{tile.width}"
    return f"tile/{kind}/{encode_index(tile.index)}{suffix}"


def parse_tile_path(path: str) -> TilePath:
    """Parse `tile/...` (or the part after `tile/`), accepting only the canonical form.

    Raises:
        AuditNotFound: for any path that is not exactly a tile's canonical path.
    """
    text = path.strip("/").removeprefix("tile/")
    parts = text.split("/")
    width = TILE_WIDTH
    if len(parts) >= 3 and parts[-2].endswith(".p"):
        if not parts[-1].isdigit() or not 1 <= int(parts[-1]) < TILE_WIDTH:
            raise AuditNotFound("not a tile path")
        width = int(parts[-1])
        parts = [*parts[:-2], parts[-2][: -len(".p")]]
    if len(parts) < 2 or not all(_GROUP.fullmatch(p) for p in parts[1:-1]) or not _LAST.fullmatch(parts[-1]):
        raise AuditNotFound("not a tile path")
    index = int("".join(p.removeprefix("x") for p in parts[1:]))
    if parts[0] == "entries":
        level = None
    elif parts[0].isdigit() and str(int(parts[0])) == parts[0] and int(parts[0]) <= _MAX_LEVEL:
        level = int(parts[0])
    else:
        raise AuditNotFound("not a tile path")
    tile = TilePath(level, index, width)
    if tile_path(tile) != f"tile/{text}":
        raise AuditNotFound("not a canonical tile path")
    return tile


async def _entry_bundle(session: AsyncSession, tile: TilePath) -> bytes:
    first = tile.index * TILE_WIDTH
    rows = list(
        await session.scalars(
            select(AuditEntryRow.canonical)
            .where(AuditEntryRow.seq >= first, AuditEntryRow.seq < first + tile.width)
            .order_by(AuditEntryRow.seq)
        )
    )
    if len(rows) != tile.width:
        raise AuditNotFound("that entry bundle does not exist (yet)")
    return b"".join(len(raw).to_bytes(2, "big") + bytes(raw) for raw in rows)


async def read_tile(session: AsyncSession, tile: TilePath, tree_size: int) -> bytes:
    """The bytes of a tile of the tree of `tree_size` entries (the latest signed head's size).

    Raises:
        AuditNotFound: when the tile lies beyond that tree.
        AuditUnavailable: when the database fails.
    """
    height = 0 if tile.level is None else tile.level * TILE_HEIGHT
    available = (tree_size >> height) - tile.index * TILE_WIDTH
    if available < tile.width:
        raise AuditNotFound("that tile does not exist (yet)")
    if tile.level is None:
        return await guarded(_entry_bundle(session, tile), "audit tile")
    start = tile.index * TILE_WIDTH
    hashes = await guarded(tree_store.level_hashes(session, height, start, tile.width), "audit tile")
    if len(hashes) != tile.width:
        raise AuditNotFound("that tile does not exist (yet)")
    return b"".join(hashes)
