"""encrypt_to_store / decrypt_from_store on both stores: round trips, ranges, and tampering caught before release."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from pathlib import Path

import pytest

from storage import (
    CHUNK_SIZE,
    FilesystemStore,
    IntegrityError,
    ObjectNotFound,
    S3Store,
    StorageError,
    TooLarge,
    canonical_context,
    decrypt_from_store,
    encrypt_to_store,
    encrypted_size,
    generate_key,
)
from storage._store import READ_SIZE, Transform
from tests.integration.test_storage_support import (
    PART,
    STORE_KINDS,
    MiB,
    assert_nothing_left,
    new_key,
    open_store,
    pieces,
    read_all,
)

SEALED = CHUNK_SIZE + 16
CONTEXT = canonical_context("citizen-vault/object/v1", [("owner", "o-1"), ("document", "d-1"), ("version", "v-1")])
OTHER = canonical_context("citizen-vault/object/v1", [("owner", "o-1"), ("document", "d-2"), ("version", "v-1")])


@pytest.fixture(params=STORE_KINDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[FilesystemStore | S3Store]:
    async with open_store(request, tmp_path) as made:
        yield made


class RecordingStore:
    """Passes everything to a real store and records each get(offset, length) call."""

    def __init__(self, inner: FilesystemStore | S3Store) -> None:
        self.inner = inner
        self.reads: list[tuple[int, int | None]] = []

    async def stat(self, key: str) -> int:
        return await self.inner.stat(key)

    async def get(
        self, key: str, offset: int = 0, length: int | None = None, transform: Transform | None = None
    ) -> AsyncGenerator[bytes, None]:
        self.reads.append((offset, length))
        async with aclosing(self.inner.get(key, offset, length, transform)) as stream:
            async for piece in stream:
                yield piece


async def decrypt_all(store: object, key: str, dek: bytes, context: bytes, size: int, *rng: int) -> bytes:
    async with aclosing(decrypt_from_store(store, key, dek, context, size, *rng)) as stream:  # type: ignore[arg-type]
        return b"".join([piece async for piece in stream])


async def decrypt_until_error(store: object, key: str, dek: bytes, size: int, *rng: int) -> tuple[bytes, Exception]:
    """Everything released before the failure, and the failure."""
    released = bytearray()
    try:
        async with aclosing(decrypt_from_store(store, key, dek, CONTEXT, size, *rng)) as stream:  # type: ignore[arg-type]
            async for piece in stream:
                released += piece
    except Exception as exc:
        return bytes(released), exc
    pytest.fail("a tampered object decrypted without error")


async def stored(store: FilesystemStore | S3Store, data: bytes, *, announce: bool = True) -> tuple[str, bytes]:
    key, dek = new_key(), generate_key()
    size = len(data) if announce else None
    await encrypt_to_store(store, key, dek, CONTEXT, pieces(data, [1000, 70_001, 3]), plaintext_size=size)
    return key, dek


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * MiB + 5])
@pytest.mark.parametrize("announce", [True, False], ids=["sized", "unsized"])
async def test_round_trip(store: FilesystemStore | S3Store, size: int, announce: bool) -> None:
    data, key, dek = os.urandom(size), new_key(), generate_key()
    result = await encrypt_to_store(
        store, key, dek, CONTEXT, pieces(data, [7, 65_537, 200_000]), plaintext_size=size if announce else None
    )
    assert result.plaintext_size == size
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.ciphertext_size == encrypted_size(size) == await store.stat(key)
    if size >= 32:
        assert data[:32] not in await read_all(store, key), "the plaintext must not appear in the store"
    assert await decrypt_all(store, key, dek, CONTEXT, size) == data


async def test_large_streamed_round_trip_over_multipart(store: FilesystemStore | S3Store) -> None:
    data = os.urandom(21 * MiB + 99)
    key, dek = await stored(store, data, announce=False)
    assert (
        hashlib.sha256(await decrypt_all(store, key, dek, CONTEXT, len(data))).digest() == hashlib.sha256(data).digest()
    )


P = 3 * CHUNK_SIZE + 1000
RANGES = [
    (0, 0), (0, 1), (0, P), (5, 6), (CHUNK_SIZE - 1, CHUNK_SIZE + 1), (CHUNK_SIZE, 2 * CHUNK_SIZE),
    (CHUNK_SIZE + 10, 3 * CHUNK_SIZE + 10), (P - 1, P), (P, P), (100, P), (2 * CHUNK_SIZE, 2 * CHUNK_SIZE),
]  # fmt: skip


@pytest.mark.parametrize(("start", "end"), RANGES)
async def test_ranges_read_only_the_chunks_they_need(store: FilesystemStore | S3Store, start: int, end: int) -> None:
    data = os.urandom(P)
    key, dek = await stored(store, data)
    recorder = RecordingStore(store)
    assert await decrypt_all(recorder, key, dek, CONTEXT, P, start, end) == data[start:end]
    if start == end < P:
        assert recorder.reads == [(0, 64)], "only the header is read (and checked)"
        return
    first, last = start // CHUNK_SIZE, (3 if end == P else (end - 1) // CHUNK_SIZE)
    final_size = 1000 + 16 if last == 3 else SEALED
    chunks = (64 + first * SEALED, (last - first) * SEALED + final_size)
    if first == 0:
        assert recorder.reads == [(0, sum(chunks))], "one read: the header and the chunks after it"
    else:
        assert recorder.reads == [(0, 64), chunks], "the header, and beside it only the chunks the range needs"


async def test_range_of_an_exact_multiple_verifies_the_empty_final_chunk(store: FilesystemStore | S3Store) -> None:
    data = os.urandom(2 * CHUNK_SIZE)
    key, dek = await stored(store, data)
    raw = bytearray(await read_all(store, key))
    raw[-1] ^= 1  # the empty final chunk's tag
    await store.put(key, pieces(bytes(raw)))
    assert await decrypt_all(store, key, dek, CONTEXT, len(data), 0, CHUNK_SIZE) == data[:CHUNK_SIZE]
    with pytest.raises(IntegrityError):
        await decrypt_all(store, key, dek, CONTEXT, len(data), CHUNK_SIZE, 2 * CHUNK_SIZE)


@pytest.mark.parametrize(("start", "end"), [(-1, 5), (5, 4), (0, P + 1)])
async def test_bad_ranges_are_refused(store: FilesystemStore | S3Store, start: int, end: int) -> None:
    key, dek = await stored(store, os.urandom(P))
    with pytest.raises(ValueError):
        await decrypt_all(store, key, dek, CONTEXT, P, start, end)


async def tamper(store: FilesystemStore | S3Store, key: str, position: int) -> None:
    raw = bytearray(await read_all(store, key))
    raw[position] ^= 0x01
    await store.put(key, pieces(bytes(raw)))


@pytest.mark.parametrize("chunk", [0, 1, 2, 3])
async def test_tampered_chunk_releases_nothing_of_that_chunk(store: FilesystemStore | S3Store, chunk: int) -> None:
    data = os.urandom(P)
    key, dek = await stored(store, data)
    await tamper(store, key, 64 + chunk * SEALED + 7)
    released, error = await decrypt_until_error(store, key, dek, P)
    assert isinstance(error, IntegrityError)
    assert data.startswith(released)
    assert len(released) <= chunk * CHUNK_SIZE


async def test_tampering_late_in_a_large_object_never_releases_the_bad_chunk(store: FilesystemStore | S3Store) -> None:
    data = os.urandom(3 * MiB)
    key, dek = await stored(store, data)
    bad_chunk = 40
    await tamper(store, key, 64 + bad_chunk * SEALED + 100)
    released, error = await decrypt_until_error(store, key, dek, len(data))
    assert isinstance(error, IntegrityError)
    assert data.startswith(released)
    assert len(released) <= bad_chunk * CHUNK_SIZE


@pytest.mark.parametrize("position", [0, 5, 8, 40])
async def test_tampered_header_fails_before_anything_is_released(
    store: FilesystemStore | S3Store, position: int
) -> None:
    key, dek = await stored(store, os.urandom(P))
    await tamper(store, key, position)
    released, error = await decrypt_until_error(store, key, dek, P)
    assert isinstance(error, IntegrityError)
    assert released == b""


@pytest.mark.parametrize(("position", "released_at_most"), [(8, 0), (64 + 3 * SEALED + 7, CHUNK_SIZE - 5)])
async def test_tampering_is_caught_in_a_range_that_starts_after_the_first_chunk(
    store: FilesystemStore | S3Store, position: int, released_at_most: int
) -> None:
    """Such a range reads the header beside its chunks and opens them once the header is checked."""
    data = os.urandom(P)
    key, dek = await stored(store, data)
    await tamper(store, key, position)
    released, error = await decrypt_until_error(store, key, dek, P, 2 * CHUNK_SIZE + 5, P)
    assert isinstance(error, IntegrityError)
    assert data[2 * CHUNK_SIZE + 5 :].startswith(released)
    assert len(released) <= released_at_most


@pytest.mark.parametrize("change", ["truncate", "append", "drop-final-chunk"])
async def test_wrong_size_fails_before_anything_is_released(store: FilesystemStore | S3Store, change: str) -> None:
    key, dek = await stored(store, os.urandom(P))
    raw = await read_all(store, key)
    raw = {"truncate": raw[:-1], "append": raw + b"\0", "drop-final-chunk": raw[: -(1000 + 16)]}[change]
    await store.put(key, pieces(raw))
    released, error = await decrypt_until_error(store, key, dek, P)
    assert isinstance(error, IntegrityError)
    assert released == b""


async def test_object_swapped_onto_another_document_fails(store: FilesystemStore | S3Store) -> None:
    data = os.urandom(1000)
    key_a, dek = await stored(store, data)
    key_b = new_key()
    await store.put(key_b, pieces(await read_all(store, key_a)))
    with pytest.raises(IntegrityError):
        await decrypt_all(store, key_b, dek, OTHER, len(data))
    with pytest.raises(IntegrityError):
        await decrypt_all(store, key_a, generate_key(), CONTEXT, len(data))


async def test_missing_object_is_not_found(store: FilesystemStore | S3Store) -> None:
    with pytest.raises(ObjectNotFound):
        await decrypt_all(store, new_key(), generate_key(), CONTEXT, 10)


@pytest.mark.parametrize("total", [3 * MiB, 14 * MiB], ids=["small", "multipart"])
async def test_too_large_aborts_and_leaves_nothing(store: FilesystemStore | S3Store, total: int) -> None:
    key = new_key()
    with pytest.raises(TooLarge):
        await encrypt_to_store(store, key, generate_key(), CONTEXT, pieces(bytes(total)), max_bytes=total - 1)
    await assert_nothing_left(store, key)


async def test_announced_size_over_the_limit_is_refused_up_front(store: FilesystemStore | S3Store) -> None:
    key = new_key()
    with pytest.raises(TooLarge):
        await encrypt_to_store(store, key, generate_key(), CONTEXT, pieces(b"x"), max_bytes=10, plaintext_size=11)
    await assert_nothing_left(store, key)


@pytest.mark.parametrize(("announced", "actual"), [(100, 200), (200, 100), (12 * MiB, 11 * MiB), (11 * MiB, 12 * MiB)])
async def test_plaintext_size_mismatch_aborts(store: FilesystemStore | S3Store, announced: int, actual: int) -> None:
    key = new_key()
    with pytest.raises(StorageError, match="announced"):
        await encrypt_to_store(store, key, generate_key(), CONTEXT, pieces(bytes(actual)), plaintext_size=announced)
    await assert_nothing_left(store, key)


async def repeated(block: bytes, count: int) -> AsyncIterator[bytes]:
    for _ in range(count):
        yield block


async def test_memory_stays_bounded_whatever_the_object_size(store: FilesystemStore | S3Store) -> None:
    block, count = os.urandom(256 * 1024), 4 * 48  # 48 MiB, never held in memory at once
    key, dek = new_key(), generate_key()
    tracemalloc.start()
    try:
        result = await encrypt_to_store(store, key, dek, CONTEXT, repeated(block, count))
        upload_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        baseline = tracemalloc.get_traced_memory()[0]  # what the upload left for the garbage collector
        digest = hashlib.sha256()
        async with aclosing(decrypt_from_store(store, key, dek, CONTEXT, result.plaintext_size)) as stream:
            async for piece in stream:
                digest.update(piece)
        download_peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    assert digest.hexdigest() == result.sha256
    # S3 holds a few multipart parts (anonymous memory, not traced here: bench/memory.py measures RSS); the
    # filesystem only ~1 MiB blocks. A download holds a few READ_SIZE pieces: the one being read and opened
    # ahead of the consumer, its plaintext, the opener's reused buffer, and what the consumer holds.
    assert upload_peak < (12 * MiB if isinstance(store, FilesystemStore) else 10 * PART)
    assert download_peak < 8 * READ_SIZE
