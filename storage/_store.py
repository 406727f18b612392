"""The object-store interface shared by every back end, key validation, and stream re-blocking."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

import anyio

__all__ = ("BLOCK_SIZE", "ObjectStore", "finish_or_undo", "reblock", "settle", "validate_key")

BLOCK_SIZE = 1024 * 1024
_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")
_MAX_SEGMENTS = 16


@runtime_checkable
class ObjectStore(Protocol):
    """Where encrypted objects live. Every method is async; blocking I/O runs in worker threads."""

    async def put(self, key: str, source: AsyncIterator[bytes], length: int | None = None) -> None:
        """Stream ``source`` into the object ``key``; on any exception nothing stays visible and it propagates."""
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


async def reblock(source: AsyncIterator[bytes], size: int = BLOCK_SIZE) -> AsyncIterator[bytes]:
    """Re-cut a stream of arbitrary pieces into blocks of exactly ``size`` bytes (the last may be shorter)."""
    buffer = bytearray()
    async for piece in source:
        if not buffer and len(piece) == size:
            yield bytes(piece)  # already the right size: no copy for bytes
            continue
        buffer += piece
        if len(buffer) >= size:
            full = len(buffer) - len(buffer) % size
            with memoryview(buffer) as view:
                blocks = [bytes(view[pos : pos + size]) for pos in range(0, full, size)]
            del buffer[:full]
            for block in blocks:
                yield block
    if buffer:
        yield bytes(buffer)


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
