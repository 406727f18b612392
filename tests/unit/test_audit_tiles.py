"""C2SP tlog-tiles paths: the index encoding and the one canonical path of each tile."""

from __future__ import annotations

import pytest

from vault.audit import AuditError, AuditNotFound
from vault.audit.tiles import TILE_WIDTH, TilePath, encode_index, parse_tile_path, tile_path


@pytest.mark.parametrize(
    ("index", "text"),
    [(0, "000"), (5, "005"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067"), (256, "256")],
)
def test_indexes_are_written_in_groups_of_three_digits(index: int, text: str) -> None:
    assert encode_index(index) == text


@pytest.mark.parametrize(
    ("path", "tile"),
    [
        ("tile/0/000", TilePath(0, 0, TILE_WIDTH)),
        ("tile/0/x001/x234/067", TilePath(0, 1234067, TILE_WIDTH)),
        ("tile/2/001.p/7", TilePath(2, 1, 7)),
        ("tile/entries/000.p/255", TilePath(None, 0, 255)),
        ("tile/entries/x001/000", TilePath(None, 1000, TILE_WIDTH)),
        ("0/003", TilePath(0, 3, TILE_WIDTH)),
    ],
)
def test_canonical_paths_round_trip(path: str, tile: TilePath) -> None:
    assert parse_tile_path(path) == tile
    assert tile_path(tile) == (path if path.startswith("tile/") else f"tile/{path}")


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/0",
        "tile/0/0000",
        "tile/0/x000/005",
        "tile/0/001/002",
        "tile/0/x1/002",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/07",
        "tile/00/000",
        "tile/-1/000",
        "tile/8/000",
        "tile/x/000",
        "tile/entries",
        "tile/0/000.p/",
        "tile/0/../000",
    ],
)
def test_every_other_path_is_not_found(path: str) -> None:
    with pytest.raises(AuditNotFound) as refused:
        parse_tile_path(path)
    assert isinstance(refused.value, AuditError)
