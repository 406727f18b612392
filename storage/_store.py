"""The object-store interface shared by every back end, key validation, and stream re-blocking."""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import anyio

from storage._errors import StorageError, StorageUnavailable

__all__ = (
    "BLOCK_SIZE",
    "FIRST_READ_SIZE",
    "PROBE_PREFIX",
    "READ_SIZE",
    "ObjectInfo",
    "ObjectStore",
    "Piece",
    "Transform",
    "batched",
    "counted",
    "finish_or_undo",
    "probe_write",
    "read_ahead",
    "read_sizes",
    "settle",
    "validate_key",
    "validate_prefix",
)

BLOCK_SIZE = 1024 * 1024  # uploads are handled in blocks of this size
# Reads come in pieces of up to this size. Each piece costs a worker-thread round trip and a pass through the
# event loop, the framework and the server (~0.25 ms of CPU on a loaded machine), and a fresh buffer or two. From
# 2 MiB to 4 MiB the vault's own CPU per GiB downloaded from SeaweedFS fell from ~0.9 to ~0.75 s and the download
# rose from ~0.76x to ~0.82x a raw minio get (bench/RESULTS.md); a download holds ~4 pieces (16 MiB) meanwhile.
READ_SIZE = 4 * 1024 * 1024
# A stream's first read is this size and each next one doubles, up to READ_SIZE: the first bytes are in the
# caller's hands after a short read instead of a whole piece, and the pieces that follow are full-sized.
FIRST_READ_SIZE = 256 * 1024
Transform = Callable[[bytes], bytes]  # see ObjectStore.get
PROBE_PREFIX = "write-probe"  # reserved: the write probe's objects live here, never documents
Piece = bytes | bytearray | memoryview  # what put() accepts; see ObjectStore.put
_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")
_MAX_SEGMENTS = 16


@runtime_checkable
class ObjectStore(Protocol):
    """Where encrypted objects live. Every method is async; blocking I/O runs in worker threads."""

    async def put(self, key: str, source: AsyncIterator[Piece], length: int | None = None) -> None:
        """Stream ``source`` into the object ``key``; on any exception nothing stays visible and it propagates.

        Each piece is consumed (written or copied) before the next is requested, so a producer may hand out
        views of a buffer it reuses. ``length``, when given, is checked: more or fewer bytes abort the upload.
        """
        ...

    def get(
        self, key: str, offset: int = 0, length: int | None = None, transform: Transform | None = None
    ) -> AsyncGenerator[bytes, None]:
        """Yield the object's bytes ``[offset, offset + length)`` in pieces of up to :data:`READ_SIZE` bytes.

        Each piece is the caller's to keep. Close the generator to release its connection or file. ``transform``,
        when given, is called on each piece, in order, in the worker thread that read it, and what it returns is
        yielded instead: work on the bytes (decryption) rides along with the read rather than costing a thread
        round trip of its own. What it raises propagates unchanged.
        """
        ...

    async def stat(self, key: str) -> int:
        """Return the object's size in bytes."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; removing a missing object is not an error."""
        ...

    def list_objects(self, prefix: str = "") -> AsyncGenerator[ObjectInfo, None]:
        """Yield every object whose key starts with ``prefix``, with its size and last-modified time."""
        ...

    async def sweep_incomplete(self, older_than: float = 3600.0) -> list[str]:
        """Abort uploads started more than ``older_than`` seconds ago and never finished; return what was removed.

        Each returned name is the object key of an aborted multipart upload (S3) or the path of a removed
        temporary file under the root (filesystem), for the caller to log.
        """
        ...

    async def probe_write(self) -> None:
        """Write and delete a tiny object under :data:`PROBE_PREFIX`; raise StorageUnavailable if writes fail."""
        ...

    async def check(self) -> None:
        """Raise StorageUnavailable if the store cannot be used."""
        ...

    async def close(self) -> None:
        """Release connections and other resources."""
        ...


@dataclass(frozen=True)
class ObjectInfo:
    """One stored object, as listed.

    Attributes:
        key: The object key.
        size: Size in bytes.
        last_modified: When it was last written (timezone-aware, UTC).
    """

    key: str
    size: int
    last_modified: datetime


def validate_prefix(prefix: str) -> str:
    """Accept ``""`` or the start of a valid key (a trailing ``/`` allowed).

    Raises:
        ValueError: If no valid key could start with ``prefix``.
    """
    if prefix:
        validate_key(prefix.removesuffix("/") if prefix.endswith("/") else prefix)
    return prefix


async def probe_write(store: ObjectStore) -> None:
    """Put and delete a tiny object under :data:`PROBE_PREFIX` (the shared body of ``ObjectStore.probe_write``).

    Raises:
        StorageUnavailable: If the write or the delete fails, whatever the reason (quota, full disk, refused
            credentials, missing bucket).
    """
    key = f"{PROBE_PREFIX}/{secrets.token_hex(12)}"

    async def body() -> AsyncIterator[bytes]:
        yield b"citizen-vault write probe\n"

    try:
        await store.put(key, body(), 26)
        await store.delete(key)
    except StorageUnavailable:
        raise
    except StorageError as exc:
        raise StorageUnavailable() from exc


def validate_key(key: str) -> str:
    """Accept keys like ``v1/<uuid>/<uuid>/<uuid>``: 1-16 ``/``-separated segments of ``[A-Za-z0-9._-]``.

    A segment may not start with a dot, so ``.``, ``..`` and hidden names are refused, as are absolute keys,
    empty segments and backslashes.

    Raises:
        ValueError: If the key is not acceptable.
    """
    segments = key.split("/")
    if len(segments) > _MAX_SEGMENTS or not all(_SEGMENT.fullmatch(segment) for segment in segments):
        raise ValueError("invalid object key")
    return key


async def counted(source: AsyncIterator[Piece], length: int | None) -> AsyncIterator[memoryview]:
    """Pass the pieces through as memoryviews, raising StorageError as soon as they disagree with ``length``."""
    total = 0
    async for piece in source:
        view = memoryview(piece)
        total += view.nbytes
        if length is not None and total > length:
            raise StorageError("upload is longer than announced")
        yield view
    if length is not None and total != length:
        raise StorageError("upload is shorter than announced")


async def batched(
    source: AsyncIterator[Piece], length: int | None, size: int = BLOCK_SIZE
) -> AsyncIterator[memoryview]:
    """Re-cut a stream into views of at least ``size`` bytes (the last may be shorter), copying as little as possible.

    A piece of ``size`` bytes or more passes through as it is (after what is already staged); smaller pieces are
    gathered in one reused staging buffer. Like the source's pieces, each view is only valid until the next is
    requested.
    """
    staging, filled = bytearray(size), 0
    async for view in counted(source, length):
        if filled == 0 and view.nbytes >= size:
            yield view
            continue
        pos = 0
        while pos < view.nbytes:
            take = min(view.nbytes - pos, size - filled)
            staging[filled : filled + take] = view[pos : pos + take]
            pos, filled = pos + take, filled + take
            if filled == size:
                yield memoryview(staging)
                filled = 0
    if filled:
        yield memoryview(staging)[:filled]


def read_sizes() -> Iterator[int]:
    """Sizes of a stream's successive reads: :data:`FIRST_READ_SIZE`, doubling up to :data:`READ_SIZE`."""
    size = min(FIRST_READ_SIZE, READ_SIZE)
    while True:
        yield size
        size = min(2 * size, READ_SIZE)


async def read_ahead(pieces: AsyncGenerator[bytes, None]) -> AsyncGenerator[bytes, None]:
    """Yield ``pieces``, fetching the next one while the caller works on the current one (one piece ahead).

    Reads run in worker threads: overlapping the next read with the caller's work (decryption, sending) keeps
    both the store connection and the CPU busy. Closing this generator stops the read in flight and closes
    ``pieces``.
    """
    upcoming: asyncio.Future[bytes] = asyncio.ensure_future(anext(pieces))
    try:
        while True:
            try:
                piece = await upcoming
            except StopAsyncIteration:
                return
            upcoming = asyncio.ensure_future(anext(pieces))
            yield piece
    finally:
        upcoming.cancel()
        await settle(upcoming)
        with anyio.CancelScope(shield=True):
            await pieces.aclose()


async def settle(task: asyncio.Future[Any]) -> None:
    """Wait until a worker-thread task has finished, even while this task is being cancelled."""
    with anyio.CancelScope(shield=True):
        while not task.done():
            with contextlib.suppress(BaseException):
                await asyncio.shield(task)
    if not task.cancelled():
        task.exception()  # mark it retrieved: the caller raises its own, more telling error


async def finish_or_undo(commit: asyncio.Future[Any], undo: Callable[[], Awaitable[None]]) -> None:
    """Wait for the worker-thread task that makes an object visible, undoing it if the wait is interrupted.

    When the caller is cancelled during the commit, the commit still finishes (threads cannot be stopped); it is
    then undone, so that a ``put`` that raised never leaves an object behind.
    """
    try:
        await asyncio.shield(commit)
    except BaseException:
        await settle(commit)
        if not commit.cancelled() and commit.exception() is None:
            with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                await undo()
        raise
