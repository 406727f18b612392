"""Encrypt a stream into an object store and decrypt any byte range out of it, verified chunk by chunk."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass

from anyio import to_thread

from storage._errors import IntegrityError, StorageError, TooLarge
from storage._format import (
    CHUNK_SIZE,
    HEADER_SIZE,
    SEALED_CHUNK_SIZE,
    TAG_SIZE,
    ObjectDecryptor,
    ObjectEncryptor,
    chunk_count,
    chunk_offset,
    encrypted_size,
    sealed_chunk_size,
)
from storage._store import BLOCK_SIZE, ObjectStore, settle

__all__ = ("StoredObject", "decrypt_from_store", "encrypt_to_store")


@dataclass(frozen=True)
class StoredObject:
    """What :func:`encrypt_to_store` wrote.

    Attributes:
        ciphertext_size: Size of the stored object.
        plaintext_size: Number of plaintext bytes the source gave.
        sha256: Hex SHA-256 of the plaintext.
    """

    ciphertext_size: int
    plaintext_size: int
    sha256: str


class _Sealer:
    """Hashes and encrypts the plaintext in ~1 MiB batches in a worker thread, overlapped with reading the source.

    The source's pieces are batched by reference, not copied: the worker thread hashes and seals each piece where
    it lies (the encryptor copies only the ends of a chunk that straddles two pieces). While one batch is being
    sealed, the next one fills. Sealed output goes into two reused buffers and is yielded as a memoryview, valid
    until the next block is requested (the ObjectStore contract): nothing is allocated per batch, which matters
    because fresh megabyte-sized buffers cost page faults that are as expensive as AES-GCM itself.
    """

    def __init__(self, dek: bytes, context: bytes, max_bytes: int | None, plaintext_size: int | None) -> None:
        self.encryptor = ObjectEncryptor(dek, context)
        self.hasher = hashlib.sha256()
        self.total = 0
        self._max_bytes = max_bytes
        self._expected = plaintext_size
        # A batch holds less than 2 * BLOCK_SIZE bytes: it is sealed once it reaches BLOCK_SIZE, and no piece
        # added to it is longer than BLOCK_SIZE (longer ones are split into views).
        capacity = self.encryptor.sealed_size(2 * BLOCK_SIZE) + SEALED_CHUNK_SIZE
        self._out = (bytearray(capacity), bytearray(capacity))

    def _seal(self, which: int, batch: list[bytes | memoryview]) -> int:
        written = 0
        with memoryview(self._out[which]) as out:
            for piece in batch:
                self.hasher.update(piece)
                written += self.encryptor.update_into(piece, out[written:])
        return written

    @staticmethod
    def _split(piece: bytes) -> list[bytes | memoryview]:
        view = memoryview(piece)  # views of a long piece: none is copied
        return [view[pos : pos + BLOCK_SIZE] for pos in range(0, len(view), BLOCK_SIZE)]

    def _count(self, size: int) -> None:
        self.total += size
        if self._max_bytes is not None and self.total > self._max_bytes:
            raise TooLarge()
        if self._expected is not None and self.total > self._expected:
            raise StorageError("upload is longer than announced")

    async def sealed(self, source: AsyncIterator[bytes]) -> AsyncGenerator[bytes | memoryview, None]:
        yield self.encryptor.header
        which, batch, batched = 0, list[bytes | memoryview](), 0
        sealing: asyncio.Future[int] | None = None  # the batch sealed into the other buffer
        try:
            async for piece in source:
                self._count(len(piece))
                # kept until sealed: a mutable piece is copied, since its owner may reuse it meanwhile
                owned = piece if isinstance(piece, bytes) else bytes(piece)
                parts = [owned] if len(owned) <= BLOCK_SIZE else self._split(owned)
                for part in parts:
                    batch.append(part)
                    batched += len(part)
                    if batched < BLOCK_SIZE:
                        continue
                    if sealing is not None:
                        yield memoryview(self._out[1 - which])[: await sealing]
                    sealing = asyncio.ensure_future(to_thread.run_sync(self._seal, which, batch))
                    which, batch, batched = 1 - which, [], 0
            if self._expected is not None and self.total != self._expected:
                raise StorageError("upload is shorter than announced")
            if sealing is not None:
                yield memoryview(self._out[1 - which])[: await sealing]
                sealing = None
            if batch:
                yield memoryview(self._out[which])[: await to_thread.run_sync(self._seal, which, batch)]
            yield self.encryptor.finalize()
        finally:
            if sealing is not None:
                await settle(sealing)  # the worker thread still uses the buffers: let it finish first


async def encrypt_to_store(
    store: ObjectStore,
    key: str,
    dek: bytes,
    context: bytes,
    source: AsyncIterator[bytes],
    *,
    max_bytes: int | None = None,
    plaintext_size: int | None = None,
) -> StoredObject:
    """Encrypt ``source`` (pieces of any size) in the suite-1 format and stream it into ``store`` under ``key``.

    Args:
        store: Where the object goes.
        key: Object key.
        dek: The object's 32-byte data key.
        context: The object's canonical context.
        source: Plaintext pieces.
        max_bytes: Refuse plaintexts longer than this.
        plaintext_size: The exact plaintext length when known (lets the store use a single PUT for small objects).

    Returns:
        Sizes and the plaintext SHA-256.

    Raises:
        TooLarge: The source gave more than ``max_bytes``; the upload was aborted.
        StorageError: The source gave a different amount than ``plaintext_size``; the upload was aborted.
        StorageUnavailable: The store failed; the upload was aborted.
    """
    if plaintext_size is not None and max_bytes is not None and plaintext_size > max_bytes:
        raise TooLarge()
    sealer = _Sealer(dek, context, max_bytes, plaintext_size)
    length = encrypted_size(plaintext_size) if plaintext_size is not None else None
    async with contextlib.aclosing(sealer.sealed(source)) as sealed:
        await store.put(key, sealed, length)
    return StoredObject(encrypted_size(sealer.total), sealer.total, sealer.hasher.hexdigest())


async def _read_exact(store: ObjectStore, key: str, offset: int, length: int) -> bytes:
    buffer = bytearray()
    async with contextlib.aclosing(store.get(key, offset, length)) as pieces:
        async for piece in pieces:
            buffer += piece
    if len(buffer) != length:
        raise IntegrityError("object is shorter than expected")
    return bytes(buffer)


class _ChunkOpener:
    """Opens consecutive sealed chunks from chunk ``index`` on, each verified before its plaintext is returned.

    It is the store's ``transform``: it runs in the worker thread that read each piece, so reading a piece and
    opening its chunks cost one thread round trip, not two. Whole chunks are decrypted straight out of the store's
    pieces; only a chunk split across two pieces is copied (into a carry buffer of at most one sealed chunk).

    No chunk is opened before the object's header is checked (format and key commitment). The header comes in
    one of two ways: with ``header_in_stream`` the stream starts at the object's first byte and its first 64
    bytes are the header; otherwise the caller reads it apart and gives it to :meth:`accept_header`, and the
    pieces that arrive before it are held (a later range reads its header and its chunks at once) and opened
    with the next piece, or by :meth:`open_held`.
    """

    def __init__(self, dek: bytes, context: bytes, plaintext_size: int, index: int, header_in_stream: bool) -> None:
        self._key = (dek, context)
        self._decryptor: ObjectDecryptor | None = None
        self._in_stream = header_in_stream
        self._header = bytearray()  # the start of a header read from the stream
        self._held = bytearray()  # what arrived before a header read apart
        self._lock = threading.Lock()  # the header may be accepted while a worker thread opens a piece
        self._final = chunk_count(plaintext_size) - 1
        self._final_size = sealed_chunk_size(plaintext_size, self._final)
        self.index = index
        self.carry = bytearray()  # the start of a chunk whose end is in the next piece
        self._target = bytearray()  # reused: unverified plaintext never leaves it

    @property
    def holding(self) -> bool:
        """Whether pieces that arrived before the header wait to be opened."""
        return bool(self._held)

    def accept_header(self, header: bytes) -> None:
        """Check the header read apart from the stream; from now on pieces are opened (the held ones first).

        Raises:
            IntegrityError: The header is malformed or not committed to this key and context.
        """
        dek, context = self._key
        decryptor = ObjectDecryptor(header, dek, context)
        with self._lock:
            self._decryptor = decryptor

    def open_held(self) -> bytes:
        """Open what was held for the header when no piece follows it."""
        return self.open(b"")

    def open(self, piece: bytes) -> bytes:
        """Open every chunk that the carry and ``piece`` complete; keep the rest for the next piece."""
        with self._lock:
            if self._decryptor is None and not self._in_stream:
                self._held += piece
                return b""
            data: bytes | bytearray = piece
            if self._held:
                self._held += piece
                data, self._held = self._held, bytearray()
            with memoryview(data) as whole:
                return self._opened(whole)

    def _sizes(self, available: int) -> list[int]:
        """Sealed sizes of the chunks that ``available`` bytes (carry included) complete."""
        whole = max(0, min(available // SEALED_CHUNK_SIZE, self._final - self.index))  # chunks before the final
        sizes = [SEALED_CHUNK_SIZE] * whole
        if self.index + whole == self._final and available - whole * SEALED_CHUNK_SIZE >= self._final_size:
            sizes.append(self._final_size)
        return sizes

    def _header_read(self, view: memoryview) -> memoryview:
        """Take the header's bytes from the stream (checking it once complete); return what follows them."""
        need = HEADER_SIZE - len(self._header)
        self._header += view[:need]
        if len(self._header) == HEADER_SIZE:
            dek, context = self._key
            self._decryptor = ObjectDecryptor(bytes(self._header), dek, context)
        return view[need:]

    def _opened(self, view: memoryview) -> bytes:
        if self._decryptor is None:
            view = self._header_read(view)
        decryptor = self._decryptor
        if decryptor is None:
            return b""
        sizes = self._sizes(len(self.carry) + len(view))
        plain_size = sum(sizes) - TAG_SIZE * len(sizes)
        if len(self._target) < plain_size:
            self._target = bytearray(plain_size)
        decrypt, final, index, carry = decryptor.decrypt_chunk_into, self._final, self.index, self.carry
        pos = written = 0
        with memoryview(self._target) as target:
            for size in sizes:
                if carry:  # the chunk that began in the previous piece
                    pos = size - len(carry)
                    carry += view[:pos]
                    written += decrypt(index, carry, index == final, target[: size - TAG_SIZE])
                    carry.clear()
                else:
                    plain = size - TAG_SIZE
                    written += decrypt(index, view[pos : pos + size], index == final, target[written : written + plain])
                    pos += size
                index += 1
            self.index = index
            carry += view[pos:]
            # One copy out of the reused buffer: the caller owns what it is given.
            return bytes(target[:written])


def _chunk_span(plaintext_size: int, start: int, end: int) -> tuple[int, int]:
    """First and last chunk a non-empty range needs; a range reaching the end includes the final chunk."""
    last = chunk_count(plaintext_size) - 1 if end == plaintext_size else (end - 1) // CHUNK_SIZE
    return start // CHUNK_SIZE, last


def decrypt_from_store(
    store: ObjectStore,
    key: str,
    dek: bytes,
    context: bytes,
    plaintext_size: int,
    start: int = 0,
    end: int | None = None,
) -> AsyncGenerator[bytes, None]:
    """Yield plaintext bytes ``[start, end)`` of an object written by :func:`encrypt_to_store`.

    The object's size and header commitment are checked before anything is yielded; then only the chunks the
    range needs are read, and each chunk's tag is verified before any of its bytes are released. Reads start small
    and grow to 4 MiB pieces; each piece is opened in the worker thread that read it, and the next one is read and
    opened while the caller handles (sends) the current one, so the store, the CPU and the caller's network all
    stay busy. A range that starts in the first chunk (every whole download) takes the header from the same read
    as its chunks, beside one size request; a later range reads the header beside them. Reading to the end of
    the plaintext always includes (and verifies) the final chunk.

    Args:
        store: Where the object is.
        key: Object key.
        dek: The object's 32-byte data key.
        context: The object's canonical context.
        plaintext_size: The plaintext length recorded when the object was stored.
        start: First plaintext byte to return.
        end: One past the last byte to return (default: ``plaintext_size``).

    Raises:
        ValueError: If the range is outside ``[0, plaintext_size]``.
        IntegrityError: If the object was tampered with, truncated, extended, swapped or moved.
        ObjectNotFound: If there is no such object.
        StorageUnavailable: If the store fails or cannot be reached.
    """
    return _decrypted_pieces(store, key, dek, context, plaintext_size, start, end)


async def _decrypted_pieces(
    store: ObjectStore, key: str, dek: bytes, context: bytes, plaintext_size: int, start: int, end: int | None
) -> AsyncGenerator[bytes, None]:
    end = plaintext_size if end is None else end
    if not 0 <= start <= end <= plaintext_size:
        raise ValueError("range outside the plaintext")
    empty = start == end < plaintext_size
    first, last = (0, 0) if empty else _chunk_span(plaintext_size, start, end)
    opened = await _opened(store, key, dek, context, plaintext_size, first, last, empty)
    if opened is None:
        return
    opener, body, upcoming = opened
    position = first * CHUNK_SIZE  # plaintext offset of the next piece's first byte
    async with contextlib.aclosing(body) as pieces:
        plaintext = await upcoming
        while plaintext is not None:
            lo, hi = max(start - position, 0), min(end - position, len(plaintext))
            position += len(plaintext)
            if lo < hi:
                yield plaintext[lo:hi]  # a full slice of bytes is the same bytes: nothing is copied
            plaintext = await anext(pieces, None)
            if plaintext is None and opener.holding:  # every piece came before the header
                plaintext = await to_thread.run_sync(opener.open_held)
    if opener.index <= last or opener.carry:
        raise IntegrityError("object is shorter than expected")


# the opener, the read (each piece opened by the store's worker thread), and its first piece (asked for already)
Opened = tuple[_ChunkOpener, AsyncGenerator[bytes, None], "asyncio.Future[bytes | None]"]


async def _opened(
    store: ObjectStore, key: str, dek: bytes, context: bytes, plaintext_size: int, first: int, last: int, empty: bool
) -> Opened | None:
    """The opener and the read of chunks ``first..last``, once the object's size and header are checked.

    The size, the header and the first piece are asked for at once (their round trips to the store overlap);
    nothing is released before the size is checked, and no chunk is opened before the header's key commitment
    is. A range from the first chunk (every whole download) reads the header and the chunks in one request; a
    later range reads the header apart, and the opener holds the pieces that arrive before it. Either way the
    store opens each piece in the thread that read it. None for an empty range: there is nothing to read once
    the size and the header are checked.
    """
    offset = chunk_offset(first)
    length = chunk_offset(last) + sealed_chunk_size(plaintext_size, last) - offset
    in_stream = first == 0 and not empty  # the header is the first 64 bytes of the same read
    opener = _ChunkOpener(dek, context, plaintext_size, first, in_stream)
    sizing = asyncio.ensure_future(store.stat(key))
    heading = None if in_stream else asyncio.ensure_future(_read_exact(store, key, 0, HEADER_SIZE))
    read_from = 0 if in_stream else offset
    body = None if empty else store.get(key, read_from, offset + length - read_from, transform=opener.open)
    upcoming = None if body is None else asyncio.ensure_future(anext(body, None))
    try:
        if await sizing != encrypted_size(plaintext_size):
            raise IntegrityError("object size does not match its recorded size")
        if heading is not None:
            opener.accept_header(await heading)
    except BaseException:
        for task in (sizing, heading, upcoming):  # let them finish (a cancelled open could leak its file)
            if task is not None:
                await settle(task)
        if body is not None:
            await body.aclose()
        raise
    if body is None or upcoming is None:
        return None
    return opener, body, upcoming
