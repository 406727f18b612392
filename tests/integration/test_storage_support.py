"""Shared pieces of the storage integration tests (no tests here): stores of each kind, sources, keys."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterable
from contextlib import aclosing, asynccontextmanager
from pathlib import Path

import pytest

from storage import FilesystemStore, ObjectNotFound, ObjectStore, S3Store
from tests.services.ceph import CephCluster
from tests.services.seaweedfs import S3Server

__all__ = (
    "PART",
    "STORE_KINDS",
    "MiB",
    "SourceFailed",
    "assert_nothing_left",
    "failing_source",
    "new_key",
    "open_store",
    "pieces",
    "read_all",
)

MiB = 1024 * 1024
PART = 5 * MiB


class SourceFailed(Exception):
    """What a client disconnect looks like to the store: the source raises midway."""


async def pieces(data: bytes, sizes: Iterable[int] = (MiB,)) -> AsyncIterator[bytes]:
    """Yield ``data`` cut into pieces, cycling through ``sizes``."""
    pos, cycle = 0, list(sizes)
    while pos < len(data):
        size = cycle[0]
        cycle = [*cycle[1:], size]
        yield data[pos : pos + size]
        pos += size


async def failing_source(total: int, fail_after: int) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        if sent >= fail_after:
            raise SourceFailed("client went away")
        yield os.urandom(256 * 1024)
        sent += 256 * 1024


async def read_all(store: ObjectStore, key: str, offset: int = 0, length: int | None = None) -> bytes:
    async with aclosing(store.get(key, offset, length)) as stream:
        return b"".join([piece async for piece in stream])


def new_key() -> str:
    return f"v1/{secrets.token_hex(8)}/{secrets.token_hex(8)}/{secrets.token_hex(8)}"


STORE_KINDS = ["fs", pytest.param("s3", marks=pytest.mark.s3), pytest.param("rgw", marks=pytest.mark.ceph)]


@asynccontextmanager
async def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[FilesystemStore | S3Store]:
    """A fresh, empty store of the kind in ``request.param``: ``fs``, ``s3`` (SeaweedFS) or ``rgw`` (Ceph).

    On S3 each test gets a new bucket and 5 MiB parts.
    """
    if request.param == "fs":
        made: FilesystemStore | S3Store = FilesystemStore(tmp_path / "objects")
    else:
        fixture = "s3_server" if request.param == "s3" else "ceph_cluster"
        server: S3Server | CephCluster = request.getfixturevalue(fixture)
        made = S3Store(
            server.endpoint, server.access_key, server.secret_key, f"t-{secrets.token_hex(6)}", part_size=PART
        )
    await made.check()
    try:
        yield made
    finally:
        await made.close()


async def assert_nothing_left(store: FilesystemStore | S3Store, key: str) -> None:
    """No object under ``key`` and no unfinished upload (temp file or multipart upload) anywhere."""
    with pytest.raises(ObjectNotFound):
        await store.stat(key)
    assert await store.incomplete_uploads() == []
