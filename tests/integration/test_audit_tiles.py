"""The log as C2SP tlog-tiles under /audit/: a small client that reads only the checkpoint and the tiles
verifies inclusion proofs and the signed root, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.support.api import DevTokens
from tests.support.vault_app import run_in_app
from vault.app import services_of
from vault.audit import AuditAction, Outcome, merkle
from vault.audit.note import CheckpointBody, open_checkpoint, parse_note_verifier

ENTRIES = 300  # a full level-0 tile, a partial one, and a partial level-1 tile
TILE = 256


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _index_path(index: int) -> str:
    text = str(index).zfill((len(str(index)) + 2) // 3 * 3)
    groups = [text[i : i + 3] for i in range(0, len(text), 3)]
    return "/".join([f"x{g}" for g in groups[:-1]] + [groups[-1]])


class TilesClient:
    """Reads a tlog-tiles log through `get(path) -> bytes` only: no API, no database."""

    def __init__(self, get: Callable[[str], bytes], verifier: str) -> None:
        self._get = get
        self._name, self._key = parse_note_verifier(verifier)
        self.fetched: list[str] = []

    def checkpoint(self) -> CheckpointBody:
        return open_checkpoint(self._fetch("checkpoint").decode(), self._name, self._key)

    def _fetch(self, path: str) -> bytes:
        self.fetched.append(path)
        return self._get(path)

    def _tile(self, level: int, index: int, size: int, entries: bool = False) -> bytes:
        width = min(TILE, (size >> (8 * level)) - index * TILE)
        suffix = "" if width == TILE else f".p/{width}"
        return self._fetch(f"tile/{'entries' if entries else level}/{_index_path(index)}{suffix}")

    def _subtree(self, height: int, index: int, size: int) -> bytes:
        """The hash of the perfect subtree of `height` at `index`, from the tile holding its level-8L nodes."""
        level, rest = divmod(height, 8)
        first, count = index << rest, 1 << rest
        data = self._tile(level, first // TILE, size)
        hashes = [data[32 * i : 32 * i + 32] for i in range(first % TILE, first % TILE + count)]
        while len(hashes) > 1:
            hashes = [_node(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
        return hashes[0]

    def range_hash(self, lo: int, hi: int, size: int) -> bytes:
        """MTH of leaves [lo, hi) (RFC 9162), built from tiles."""
        n = hi - lo
        if n & (n - 1) == 0 and lo % n == 0:
            return self._subtree(n.bit_length() - 1, lo // n, size)
        k = 1 << ((n - 1).bit_length() - 1)
        return _node(self.range_hash(lo, lo + k, size), self.range_hash(lo + k, hi, size))

    def inclusion_proof(self, index: int, lo: int, hi: int, size: int) -> list[bytes]:
        """PATH(index, D[lo:hi]) of RFC 9162, built from tiles."""
        if hi - lo == 1:
            return []
        k = 1 << ((hi - lo - 1).bit_length() - 1)
        if index < lo + k:
            return [*self.inclusion_proof(index, lo, lo + k, size), self.range_hash(lo + k, hi, size)]
        return [*self.inclusion_proof(index, lo + k, hi, size), self.range_hash(lo, lo + k, size)]

    def entry(self, index: int, size: int) -> bytes:
        """The leaf bytes of entry `index`, from its entry bundle."""
        data, position = self._tile(0, index // TILE, size, entries=True), 0
        for _ in range(index % TILE):
            position += 2 + int.from_bytes(data[position : position + 2], "big")
        length = int.from_bytes(data[position : position + 2], "big")
        return data[position + 2 : position + 2 + length]


@pytest.fixture
def filled(client: TestClient[Litestar]) -> TestClient[Litestar]:
    events = services_of(client.app).events

    async def fill() -> None:
        for number in range(ENTRIES):
            event = events.event(AuditAction.DOCUMENT_READ, Outcome.SUCCESS, None, details={"n": number})
            await events.append_now(event)
        await events.integrator.settle()

    run_in_app(client, fill)
    return client


def test_a_tiles_client_verifies_inclusion_and_the_root_from_tiles_alone(
    filled: TestClient[Litestar], as_user: DevTokens
) -> None:
    auditor = as_user("audrey")

    def get(path: str) -> bytes:
        headers = auditor if path.startswith("tile/entries/") else {}
        response = filled.get(f"/audit/{path}", headers=headers)
        assert response.status_code == 200, (path, response.text)
        return response.content

    verifier = filled.get("/api/v1/audit/key").json()["note_verifier"]
    tiles = TilesClient(get, verifier)
    head = tiles.checkpoint()
    size = head.tree_size
    assert size >= ENTRIES
    assert tiles.range_hash(0, size, size) == head.root_hash
    for index in (0, 1, 255, 256, 257, size - 1):
        leaf = merkle.leaf_hash(tiles.entry(index, size))
        assert leaf == tiles.range_hash(index, index + 1, size)
        proof = tiles.inclusion_proof(index, 0, size, size)
        assert merkle.verify_inclusion(leaf, index, size, proof, head.root_hash)
        assert not merkle.verify_inclusion(leaf, index ^ 1, size, proof, head.root_hash)
    assert {p.split("/")[1] for p in tiles.fetched if p.startswith("tile/")} == {"0", "1", "entries"}
    assert "tile/0/000" in tiles.fetched  # a full tile
    assert f"tile/1/000.p/{size >> 8}" in tiles.fetched  # a partial tile of level 1


def test_full_tiles_are_immutable_and_only_canonical_paths_exist(
    filled: TestClient[Litestar], as_user: DevTokens
) -> None:
    full = filled.get("/audit/tile/0/000")
    assert (full.status_code, len(full.content)) == (200, 256 * 32)
    assert "immutable" in full.headers["cache-control"]
    assert full.headers["content-type"].startswith("application/octet-stream")
    partial = filled.get("/audit/tile/0/001.p/3")
    assert (partial.status_code, len(partial.content)) == (200, 3 * 32)
    checkpoint = filled.get("/audit/checkpoint")
    assert checkpoint.headers["content-type"].startswith("text/plain")
    assert checkpoint.text.splitlines()[1] == str(ENTRIES)
    for path in (
        "tile/0/0",
        "tile/0/x000/000",
        "tile/0/000.p/256",
        "tile/0/000.p/0",
        "tile/0/002",
        "tile/9/000",
        "tile/00/000",
        "tile/0/001.p/250",
        "tile/abc/000",
    ):
        assert filled.get(f"/audit/{path}").status_code == 404, path


def test_entry_bundles_are_for_auditors_only(filled: TestClient[Litestar], as_user: DevTokens) -> None:
    assert filled.get("/audit/tile/entries/000").status_code == 401
    assert filled.get("/audit/tile/entries/000", headers=as_user("alice")).status_code == 403
    bundle = filled.get("/audit/tile/entries/000", headers=as_user("audrey"))
    assert bundle.status_code == 200
    first = bundle.content[2 : 2 + int.from_bytes(bundle.content[:2], "big")]
    assert first.startswith(b'{"action":')
