"""Any byte range of any object decrypts to exactly that slice of the plaintext (property test, filesystem store)."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from storage import CHUNK_SIZE, FilesystemStore, canonical_context, decrypt_from_store, encrypt_to_store

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
