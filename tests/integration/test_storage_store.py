"""The ObjectStore contract, run on the filesystem store and on S3 (SeaweedFS with signed requests)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import threading
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path

import psutil
import pytest

from storage import (
    FilesystemStore,
    ObjectNotFound,
    ObjectStore,
    S3Store,
    StorageError,
    StorageUnavailable,
    store_from_url,
)
from storage._store import FIRST_READ_SIZE, READ_SIZE, read_sizes
from tests.integration.test_storage_support import (
    PART,
    STORE_KINDS,
    MiB,
    SourceFailed,
    assert_nothing_left,
    failing_source,
    new_key,
    open_store,
    pieces,
    read_all,
)
from tests.services.seaweedfs import S3Server


@pytest.fixture(params=STORE_KINDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[FilesystemStore | S3Store]:
    async with open_store(request, tmp_path) as made:
        yield made


async def test_put_get_stat_round_trip(store: ObjectStore) -> None:
    key, data = new_key(), os.urandom(3 * MiB + 17)
    await store.put(key, pieces(data, [1000, 70_000, 5]))
    assert await store.stat(key) == len(data)
    async with aclosing(store.get(key)) as stream:
        got = [piece async for piece in stream]
    assert b"".join(got) == data
    assert max(map(len, got)) <= READ_SIZE, "reads come in bounded pieces"


async def test_reads_start_small_and_grow_to_full_pieces(store: ObjectStore) -> None:
    key, data = new_key(), os.urandom(3 * READ_SIZE + 17)
    await store.put(key, pieces(data))
    async with aclosing(store.get(key, 5)) as stream:
        sizes = [len(piece) async for piece in stream]
    planned = [size for size, _ in zip(read_sizes(), range(len(sizes)), strict=False)]
    assert sizes[:-1] == planned[:-1], "the first byte comes after a short read; later pieces are full"
    assert sizes[0] == FIRST_READ_SIZE < READ_SIZE == max(sizes)
    assert sum(sizes) == len(data) - 5


async def test_a_transform_runs_in_the_reading_thread_on_each_piece_in_order(store: ObjectStore) -> None:
    key, data = new_key(), os.urandom(3 * MiB + 5)
    await store.put(key, pieces(data))
    threads: set[int] = set()

    def reverse(piece: bytes) -> bytes:
        threads.add(threading.get_ident())
        return piece[::-1]

    async with aclosing(store.get(key, 1, len(data) - 2, transform=reverse)) as stream:
        got = [piece async for piece in stream]
    assert b"".join(piece[::-1] for piece in got) == data[1:-1], "each piece transformed once, in order"
    assert threading.get_ident() not in threads, "the transform ran in a worker thread, not on the event loop"


async def test_what_a_transform_raises_comes_out_of_the_read_unchanged(store: ObjectStore) -> None:
    key = new_key()
    await store.put(key, pieces(os.urandom(MiB)))

    class Refused(Exception):
        pass

    def refuse(piece: bytes) -> bytes:
        raise Refused()

    with pytest.raises(Refused):
        async with aclosing(store.get(key, transform=refuse)) as stream:
            _ = [piece async for piece in stream]


async def test_empty_object(store: ObjectStore) -> None:
    key = new_key()
    await store.put(key, pieces(b""), length=0)
    assert await store.stat(key) == 0
    assert await read_all(store, key) == b""


@pytest.mark.parametrize(
    ("offset", "length"),
    [(0, 1), (5, 100), (MiB - 1, 2), (2 * MiB, None), (0, None), (7, 0), (2 * MiB + 300, None), (3 * MiB, 5)],
)
async def test_ranged_get(store: ObjectStore, offset: int, length: int | None) -> None:
    key, data = new_key(), os.urandom(2 * MiB + 300)
    await store.put(key, pieces(data), length=len(data))
    expected = data[offset:] if length is None else data[offset : offset + length]
    assert await read_all(store, key, offset, length) == expected


async def test_overwrite_replaces_the_object(store: ObjectStore) -> None:
    key = new_key()
    await store.put(key, pieces(b"first version"))
    await store.put(key, pieces(b"second"))
    assert await read_all(store, key) == b"second"


async def test_missing_object_is_not_found(store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFound):
        await store.stat(new_key())
    with pytest.raises(ObjectNotFound):
        await read_all(store, new_key())


async def test_delete_is_idempotent(store: ObjectStore) -> None:
    key = new_key()
    await store.put(key, pieces(b"x" * 10))
    await store.delete(key)
    await store.delete(key)
    with pytest.raises(ObjectNotFound):
        await store.stat(key)


@pytest.mark.parametrize("known_length", [True, False], ids=["length", "no-length"])
async def test_streamed_multipart_upload_is_byte_exact(store: ObjectStore, known_length: bool) -> None:
    key, data = new_key(), os.urandom(20 * MiB + 12345)
    await store.put(key, pieces(data, [65_536, 250_000, 13, MiB + 1]), len(data) if known_length else None)
    assert await store.stat(key) == len(data)
    got = hashlib.sha256()
    async with aclosing(store.get(key)) as stream:
        async for piece in stream:
            got.update(piece)
    assert got.hexdigest() == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("total", "fail_after", "announce"),
    [(12 * MiB, 11 * MiB, False), (12 * MiB, 11 * MiB, True), (12 * MiB, 256 * 1024, False), (MiB, 512 * 1024, True)],
    ids=["multipart", "multipart-length", "first-part", "single-put"],
)
async def test_source_failing_midway_leaves_nothing(
    store: FilesystemStore | S3Store, total: int, fail_after: int, announce: bool
) -> None:
    key = new_key()
    with pytest.raises(SourceFailed):
        await store.put(key, failing_source(total, fail_after), total if announce else None)
    await assert_nothing_left(store, key)


@pytest.mark.parametrize(("announced", "actual"), [(3 * MiB, 2 * MiB), (2 * MiB, 3 * MiB), (12 * MiB, 11 * MiB)])
async def test_source_length_mismatch_aborts(store: FilesystemStore | S3Store, announced: int, actual: int) -> None:
    key = new_key()
    with pytest.raises(StorageError, match="announced"):
        await store.put(key, pieces(bytes(actual)), announced)
    await assert_nothing_left(store, key)


async def test_cancelled_upload_leaves_nothing(store: FilesystemStore | S3Store) -> None:
    key, reached = new_key(), asyncio.Event()

    async def stalls_after_two_parts() -> AsyncIterator[bytes]:
        for _ in range(11):
            yield bytes(MiB)
        reached.set()
        await asyncio.Event().wait()  # never set: the client stalls until the request is cancelled
        yield b""

    upload = asyncio.create_task(store.put(key, stalls_after_two_parts()))
    await reached.wait()
    upload.cancel()
    with pytest.raises(asyncio.CancelledError):
        await upload
    await assert_nothing_left(store, key)


async def make_stale_partial(store: FilesystemStore | S3Store) -> str:
    """An upload whose writer died (a temp file, aged, or a multipart upload with one part); what a sweep reports."""
    if isinstance(store, FilesystemStore):
        partial = store._incoming / "deadbeef.part"
        partial.write_bytes(b"half an object")
        os.utime(partial, (time.time() - 7200, time.time() - 7200))
        return ".incoming/deadbeef.part"
    client, bucket, key = store._client, store._bucket, new_key()
    upload_id = await asyncio.to_thread(client._create_multipart_upload, bucket, key, {})
    await asyncio.to_thread(client._upload_part, bucket, key, bytes(PART), None, upload_id, 1)
    return key


async def test_sweep_incomplete_removes_stale_partials_and_names_them(store: FilesystemStore | S3Store) -> None:
    name = await make_stale_partial(store)
    assert len(await store.incomplete_uploads()) == 1
    if isinstance(store, S3Store):
        assert await store.sweep_incomplete(older_than=3600) == [], "a fresh upload is left alone"
    assert await store.sweep_incomplete(older_than=0) == [name]
    assert await store.incomplete_uploads() == []
    assert await store.sweep_incomplete(older_than=0) == []


async def test_fresh_partials_survive_the_default_sweep(store: FilesystemStore | S3Store) -> None:
    if isinstance(store, FilesystemStore):
        (store._incoming / "fresh.part").write_bytes(b"x")
    else:
        await asyncio.to_thread(store._client._create_multipart_upload, store._bucket, new_key(), {})
    assert await store.sweep_incomplete() == []
    assert len(await store.incomplete_uploads()) == 1


async def test_filesystem_objects_stay_under_the_root(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path / "root")
    await store.put("v1/a/b", pieces(b"x"))
    assert (tmp_path / "root" / "v1" / "a" / "b").read_bytes() == b"x"
    with pytest.raises(ValueError):
        await store.put("../escape", pieces(b"x"))
    assert not (tmp_path / "escape").exists()


@pytest.mark.s3
@pytest.mark.parametrize("wrong", ["secret", "access-key"])
async def test_s3_with_wrong_credentials_is_refused(s3_server: S3Server, wrong: str) -> None:
    access = "AKNOBODY" if wrong == "access-key" else s3_server.access_key
    secret = "not-the-secret" if wrong == "secret" else s3_server.secret_key
    store = S3Store(s3_server.endpoint, access, secret, "wrong-creds")
    with pytest.raises(StorageUnavailable) as info:
        await store.check()
    assert type(info.value).__name__ == "StorageAccessDenied"
    store._bucket_ready = True  # skip the bucket probe: the object request itself must be refused
    with pytest.raises(StorageUnavailable):
        await store.put(new_key(), pieces(b"x"), 1)
    with pytest.raises(StorageUnavailable):
        await read_all(store, new_key())
    await store.close()


@pytest.mark.s3
async def test_s3_store_from_url(s3_server: S3Server) -> None:
    store = store_from_url(s3_server.url(f"u-{secrets.token_hex(4)}"))
    key = new_key()
    await store.put(key, pieces(b"via url"))
    assert await read_all(store, key) == b"via url"
    await store.close()


def hold_commit(store: FilesystemStore | S3Store, committed: threading.Event, release: threading.Event) -> None:
    """Make the store's commit step (rename into place / complete the upload) succeed, then wait for ``release``."""
    owner = store if isinstance(store, FilesystemStore) else store._client
    name = "_commit" if isinstance(store, FilesystemStore) else "_complete_multipart_upload"
    real = getattr(owner, name)

    def held(*args: object) -> object:
        result = real(*args)
        committed.set()
        release.wait(timeout=30)
        return result

    setattr(owner, name, held)


async def test_cancelled_while_committing_leaves_nothing(store: FilesystemStore | S3Store) -> None:
    key, committed, release = new_key(), threading.Event(), threading.Event()
    hold_commit(store, committed, release)
    upload = asyncio.create_task(store.put(key, pieces(os.urandom(6 * MiB))))
    await asyncio.to_thread(committed.wait, 30)
    assert await store.stat(key) == 6 * MiB, "the object is complete and visible while the caller is cancelled"
    upload.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await upload
    await assert_nothing_left(store, key)


def connections_to(port: int) -> int:
    return sum(
        1
        for conn in psutil.Process().net_connections(kind="tcp")
        if conn.raddr and conn.raddr.port == port and conn.status == psutil.CONN_ESTABLISHED
    )


@pytest.mark.s3
async def test_closing_a_partial_read_releases_its_connection(s3_server: S3Server) -> None:
    store = S3Store(s3_server.endpoint, s3_server.access_key, s3_server.secret_key, "partial-reads")
    key = new_key()
    await store.put(key, pieces(os.urandom(8 * MiB)))
    port = int(s3_server.endpoint.rsplit(":", 1)[1])
    before = connections_to(port)
    for _ in range(20):
        async with aclosing(store.get(key)) as stream:
            assert len(await anext(stream)) == FIRST_READ_SIZE
    assert connections_to(port) - before <= 2, "each abandoned read must give its connection back"
    await store.close()


async def test_a_key_prefix_is_not_an_object(store: FilesystemStore | S3Store) -> None:
    key = new_key()
    await store.put(key, pieces(b"inside"))
    prefix = key.rsplit("/", 1)[0]
    with pytest.raises(ObjectNotFound):
        await store.stat(prefix)
    with pytest.raises(ObjectNotFound):
        await read_all(store, prefix)
    await store.delete(prefix)
    assert await read_all(store, key) == b"inside", "deleting a prefix leaves the objects under it alone"
