"""Faults: an S3 endpoint that is dead, hangs or is killed mid-upload answers StorageUnavailable fast."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import aclosing

import pytest

from storage import (
    ObjectNotFound,
    S3Store,
    StorageUnavailable,
    canonical_context,
    decrypt_from_store,
    encrypt_to_store,
    generate_key,
)
from tests.integration.test_storage_support import PART, MiB, new_key, pieces, read_all
from tests.services._proc import free_port
from tests.services.seaweedfs import S3Server

pytestmark = pytest.mark.s3
FAST = 5.0
CONTEXT = canonical_context("citizen-vault/object/v1", [("document", "d")])

Operation = Callable[[S3Store], Awaitable[object]]
OPERATIONS: dict[str, Operation] = {
    "check": lambda s: s.check(),
    "put": lambda s: s.put(new_key(), pieces(b"x" * 10), 10),
    "put-streamed": lambda s: s.put(new_key(), pieces(bytes(12 * MiB))),
    "get": lambda s: read_all(s, new_key()),
    "stat": lambda s: s.stat(new_key()),
    "delete": lambda s: s.delete(new_key()),
    "sweep": lambda s: s.sweep_incomplete(),
}


async def assert_unavailable_fast(operation: Awaitable[object]) -> None:
    """The operation fails with StorageUnavailable, within the bound below (a hang would be cut there and fail):
    speed is the benchmarks' business, not a timed assertion."""
    with pytest.raises(StorageUnavailable):
        await asyncio.wait_for(operation, timeout=FAST * 6)


@pytest.mark.parametrize("name", OPERATIONS)
async def test_dead_endpoint_is_unavailable_fast(name: str) -> None:
    store = S3Store(f"127.0.0.1:{free_port()}", "AK", "SK", "bucket")
    await assert_unavailable_fast(OPERATIONS[name](store))
    await store.close()


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A port that accepts TCP connections (kernel backlog) but never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"127.0.0.1:{sock.getsockname()[1]}"


async def test_hanging_endpoint_times_out_instead_of_hanging(silent_endpoint: str) -> None:
    store = S3Store(silent_endpoint, "AK", "SK", "bucket", read_timeout=1, retries=1)
    await assert_unavailable_fast(store.check())
    await store.close()


async def test_server_killed_mid_upload_and_at_download(throwaway_s3_server: S3Server) -> None:
    server = throwaway_s3_server
    store = S3Store(server.endpoint, server.access_key, server.secret_key, "faults", part_size=PART)
    dek, data = generate_key(), os.urandom(300_000)
    kept = new_key()
    await encrypt_to_store(store, kept, dek, CONTEXT, pieces(data), plaintext_size=len(data))

    reached, release = asyncio.Event(), asyncio.Event()

    async def client_upload() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield os.urandom(MiB)
        reached.set()
        await release.wait()
        for _ in range(8):
            yield os.urandom(MiB)

    interrupted = new_key()
    upload = asyncio.create_task(store.put(interrupted, client_upload()))
    await reached.wait()
    server.stop()
    release.set()
    await assert_unavailable_fast(upload)

    released = bytearray()

    async def download() -> None:
        async with aclosing(decrypt_from_store(store, kept, dek, CONTEXT, len(data))) as stream:
            async for piece in stream:
                released.extend(piece)

    await assert_unavailable_fast(download())
    assert released == b""
    await assert_unavailable_fast(store.check())

    server.start()
    with pytest.raises(ObjectNotFound):
        await store.stat(interrupted)
    await store.sweep_incomplete(older_than=0)
    assert await store.incomplete_uploads() == []
    async with aclosing(decrypt_from_store(store, kept, dek, CONTEXT, len(data))) as stream:
        assert b"".join([piece async for piece in stream]) == data
    await store.close()
