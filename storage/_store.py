"""The object-store interface shared by every back end, key validation, and stream re-blocking."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

import anyio

from storage._errors import StorageError

__all__ = (
    "BLOCK_SIZE",
    "ObjectStore",
    "Piece",
    "batched",
    "counted",
    "finish_or_undo",
    "read_ahead",
    "settle",
    "validate_key",
)

BLOCK_SIZE = 1024 * 1024
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

    def get(self, key: str, offset: int = 0, length: int | None = None) -> AsyncGenerator[bytes, None]:
        """Yield the object's bytes ``[offset, offset + length)`` in ~1 MiB pieces; close it to release it."""
        ...

    async def stat(self, key: str) -> int:
        """Return the object's size in bytes."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; removing a missing object is not an error."""
        ...

    async def sweep_incomplete(self, older_than: float = 3600.0) -> int:
        """Abort uploads started more than ``older_than`` seconds ago and never finished; return how many."""
        ...

    async def check(self) -> None:
        """Raise StorageUnavailable if the store cannot be used."""
        ...

    async def close(self) -> None:
        """Release connections and other resources."""
        ...


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
