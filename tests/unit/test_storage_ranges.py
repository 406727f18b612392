"""Any byte range of any object decrypts to exactly that slice of the plaintext (filesystem store), and a range whose
chunks all arrive before its header is opened only once the header is checked."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from storage import (
    CHUNK_SIZE,
    FilesystemStore,
    IntegrityError,
    canonical_context,
    decrypt_from_store,
    encrypt_to_store,
)
from storage._store import Transform

DEK = bytes(range(32))
CONTEXT = canonical_context("citizen-vault/object/v1", [("document", "ranges")])


async def one_piece(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def store_and_read(data: bytes, start: int, end: int) -> bytes:
    with tempfile.TemporaryDirectory() as root:
        store = FilesystemStore(Path(root))
        await encrypt_to_store(store, "v1/o", DEK, CONTEXT, one_piece(data), plaintext_size=len(data))
        async with aclosing(decrypt_from_store(store, "v1/o", DEK, CONTEXT, len(data), start, end)) as stream:
            return b"".join([piece async for piece in stream])


@st.composite
def object_and_range(draw: st.DrawFn) -> tuple[bytes, int, int]:
    size = draw(st.integers(0, 3 * CHUNK_SIZE + 10))
    data = bytes(i * 7 % 256 for i in range(size))
    start = draw(st.integers(0, size))
    return data, start, draw(st.integers(start, size))


@settings(max_examples=40, deadline=None)
@given(case=object_and_range())
def test_any_range_is_exactly_the_plaintext_slice(case: tuple[bytes, int, int]) -> None:
    data, start, end = case
    assert asyncio.run(store_and_read(data, start, end)) == data[start:end]


class HeaderLast:
    """A store whose header read waits until the range's read has opened (or held) every piece it read."""

    def __init__(self, store: FilesystemStore, tampered_header: bool = False) -> None:
        self.store, self.tampered_header = store, tampered_header
        self.body_read = 0
        self.body_length = -1

    async def stat(self, key: str) -> int:
        return await self.store.stat(key)

    async def get(
        self, key: str, offset: int = 0, length: int | None = None, transform: Transform | None = None
    ) -> AsyncGenerator[bytes, None]:
        if offset == 0:  # the header, read apart from a later range
            for _ in range(2000):
                if self.body_read == self.body_length:
                    break
                await asyncio.sleep(0.001)
            assert self.body_read == self.body_length, "the range's pieces were not all read before the header"
            async for piece in self.store.get(key, offset, length):
                yield bytes([piece[0] ^ 1]) + piece[1:] if self.tampered_header else piece
            return
        assert transform is not None
        assert length is not None
        self.body_length = length

        def counted(piece: bytes) -> bytes:
            self.body_read += len(piece)
            return transform(piece)

        async with aclosing(self.store.get(key, offset, length, transform=counted)) as pieces:
            async for piece in pieces:
                yield piece


async def read_header_last(data: bytes, start: int, end: int, tampered_header: bool = False) -> tuple[bytes, int]:
    with tempfile.TemporaryDirectory() as root:
        plain = FilesystemStore(Path(root))
        await encrypt_to_store(plain, "v1/o", DEK, CONTEXT, one_piece(data), plaintext_size=len(data))
        store = HeaderLast(plain, tampered_header)
        got = bytearray()
        stream = decrypt_from_store(store, "v1/o", DEK, CONTEXT, len(data), start, end)  # type: ignore[arg-type]
        async with aclosing(stream) as pieces:
            try:
                async for piece in pieces:
                    got += piece
            except IntegrityError:
                return bytes(got), -1
        return bytes(got), store.body_read


def test_a_later_range_read_before_its_header_is_opened_once_the_header_is_checked() -> None:
    data = bytes(i * 13 % 251 for i in range(5 * CHUNK_SIZE + 77))
    start, end = 3 * CHUNK_SIZE + 5, 4 * CHUNK_SIZE + 9
    got, read = asyncio.run(read_header_last(data, start, end))
    assert got == data[start:end]
    assert read > 0  # the range's chunks were all read (and held) before the header came


def test_held_pieces_are_never_released_when_the_late_header_is_bad() -> None:
    data = bytes(i * 13 % 251 for i in range(5 * CHUNK_SIZE + 77))
    got, read = asyncio.run(read_header_last(data, 3 * CHUNK_SIZE, 5 * CHUNK_SIZE + 77, tampered_header=True))
    assert (got, read) == (b"", -1)
