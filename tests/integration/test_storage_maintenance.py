"""What operations need from a store, on both stores: listing with times, the write probe, missing objects."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import (
    FilesystemStore,
    ObjectInfo,
    ObjectNotFound,
    S3Store,
    StorageAccessDenied,
    StorageUnavailable,
    canonical_context,
    decrypt_from_store,
    encrypt_to_store,
    generate_key,
)
from storage._store import Transform
from tests.integration.test_storage_support import STORE_KINDS, new_key, open_store, pieces, read_all
from tests.services.seaweedfs import S3Server

CONTEXT = canonical_context("citizen-vault/object/v1", [("document", "d")])
SLACK = timedelta(seconds=2)  # S3 reports whole seconds


@pytest.fixture(params=STORE_KINDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[FilesystemStore | S3Store]:
    async with open_store(request, tmp_path) as made:
        yield made


async def listed(store: FilesystemStore | S3Store, prefix: str = "") -> list[ObjectInfo]:
    async with aclosing(store.list_objects(prefix)) as items:
        return [item async for item in items]


async def test_list_objects_gives_keys_sizes_and_times_under_a_prefix(store: FilesystemStore | S3Store) -> None:
    before = datetime.now(UTC)
    keys = {"v1/aa/one": b"1", "v1/aa/two/deeper": b"22", "v1/ab/three": b"333", "v2/aa/four": b"4444"}
    for key, data in keys.items():
        await store.put(key, pieces(data))
    after = datetime.now(UTC)

    everything = await listed(store)
    assert [item.key for item in everything] == sorted(keys)
    for item in everything:
        assert item.size == len(keys[item.key])
        assert before - SLACK <= item.last_modified <= after + SLACK
        assert item.last_modified.tzinfo is not None
    assert [item.key for item in await listed(store, "v1/")] == ["v1/aa/one", "v1/aa/two/deeper", "v1/ab/three"]
    assert [item.key for item in await listed(store, "v1/a")] == ["v1/aa/one", "v1/aa/two/deeper", "v1/ab/three"]
    assert [item.key for item in await listed(store, "v1/aa/")] == ["v1/aa/one", "v1/aa/two/deeper"]
    assert await listed(store, "v3/") == []


async def test_listing_leaves_out_unfinished_uploads(store: FilesystemStore | S3Store) -> None:
    started = asyncio.Event()

    async def stalls() -> AsyncIterator[bytes]:
        for _ in range(12):
            yield bytes(1024 * 1024)
        started.set()
        await asyncio.Event().wait()
        yield b""

    upload = asyncio.create_task(store.put("v1/unfinished", stalls()))
    await started.wait()
    await store.put("v1/finished", pieces(b"done"))
    assert [item.key for item in await listed(store)] == ["v1/finished"]
    upload.cancel()
    with pytest.raises(asyncio.CancelledError):
        await upload


@pytest.mark.parametrize("prefix", ["../", "/abs", "a//b", ".incoming/"])
async def test_list_refuses_prefixes_no_key_can_have(store: FilesystemStore | S3Store, prefix: str) -> None:
    with pytest.raises(ValueError):
        await listed(store, prefix)


async def test_write_probe_succeeds_and_leaves_nothing(store: FilesystemStore | S3Store) -> None:
    await store.probe_write()
    await store.probe_write()
    assert await listed(store) == []
    assert await store.incomplete_uploads() == []


async def test_write_probe_fails_where_check_passes(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path / "objects")
    await store.check()
    (tmp_path / "objects" / ".incoming").rmdir()
    (tmp_path / "objects" / ".incoming").write_bytes(b"not a directory")  # uploads cannot start any more
    await store.check()
    with pytest.raises(StorageUnavailable):
        await store.probe_write()


@pytest.mark.s3
async def test_write_probe_with_a_wrong_secret_is_refused_and_logs_the_code_not_the_secret(
    s3_server: S3Server, caplog: pytest.LogCaptureFixture
) -> None:
    store = S3Store(s3_server.endpoint, s3_server.access_key, "not-the-secret-at-all", "probe-denied")
    store._bucket_ready = True  # straight to the write
    with caplog.at_level(logging.INFO, logger="storage"), pytest.raises(StorageAccessDenied):
        await store.probe_write()
    assert "SignatureDoesNotMatch" in caplog.text
    assert "not-the-secret-at-all" not in caplog.text
    assert s3_server.secret_key not in caplog.text
    await store.close()


async def test_missing_object_is_not_found_not_unavailable(store: FilesystemStore | S3Store) -> None:
    for read in (store.stat(new_key()), read_all(store, new_key())):
        with pytest.raises(ObjectNotFound) as info:
            await read
        assert not isinstance(info.value, StorageUnavailable), "a missing object is an integrity failure (502)"


class VanishingStore:
    """The object was deleted behind the vault's back after its size was taken: the size check passes (the size
    is the one taken before), every read finds nothing. (The download asks for the size and its first reads at
    once, so a store that deleted inside `stat` would race those reads; this one is deterministic.)"""

    def __init__(self, inner: FilesystemStore | S3Store, size: int) -> None:
        self.inner = inner
        self.size = size

    async def stat(self, key: str) -> int:
        return self.size

    def get(
        self, key: str, offset: int = 0, length: int | None = None, transform: Transform | None = None
    ) -> AsyncGenerator[bytes, None]:
        return self.inner.get(key, offset, length, transform)


async def test_object_deleted_before_its_read_is_not_found(store: FilesystemStore | S3Store) -> None:
    key, dek = new_key(), generate_key()
    await encrypt_to_store(store, key, dek, CONTEXT, pieces(b"soon gone"), plaintext_size=9)
    size = await store.stat(key)
    await store.delete(key)
    with pytest.raises(ObjectNotFound):
        async with aclosing(decrypt_from_store(VanishingStore(store, size), key, dek, CONTEXT, 9)) as stream:  # type: ignore[arg-type]
            _ = [piece async for piece in stream]


@pytest.mark.s3
async def test_a_missing_bucket_is_unavailable_not_a_missing_object(s3_server: S3Server) -> None:
    store = S3Store(s3_server.endpoint, s3_server.access_key, s3_server.secret_key, "no-such-bucket-here")
    store._bucket_ready = True  # as if it was deleted after start-up
    with pytest.raises(StorageUnavailable):
        await read_all(store, new_key())
    with pytest.raises(StorageUnavailable):
        await store.stat(new_key())
    await store.close()
