"""A filesystem object store: temp file, fsync, atomic rename; keys map to paths under one root."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from pathlib import Path
from typing import BinaryIO, TypeVar

from anyio import to_thread

from storage._errors import ObjectNotFound, StorageUnavailable
from storage._store import BLOCK_SIZE, Piece, batched, finish_or_undo, read_ahead, validate_key

__all__ = ("FilesystemStore",)

T = TypeVar("T")

_INCOMING = ".incoming"


async def _io(func: Callable[..., T], *args: object) -> T:
    """Run blocking file I/O in a worker thread; filesystem errors become StorageUnavailable."""
    try:
        return await to_thread.run_sync(func, *args)
    except OSError as exc:
        raise StorageUnavailable() from exc


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


async def _pieces(handle: BinaryIO, offset: int, length: int | None) -> AsyncGenerator[bytes, None]:
    """Read ``[offset, offset + length)`` (to the end when ``length`` is None) in ~1 MiB pieces; close ``handle``."""
    try:
        remaining = length
        await _io(handle.seek, offset)
        while remaining is None or remaining > 0:
            size = BLOCK_SIZE if remaining is None else min(BLOCK_SIZE, remaining)
            data = await _io(handle.read, size)
            if not data:
                return
            if remaining is not None:
                remaining -= len(data)
            yield data
    finally:
        handle.close()


class FilesystemStore:
    """Objects as files under ``root``; uploads go to ``root/.incoming`` and are renamed into place when complete.

    Args:
        root: Directory holding the objects (created if missing).
    """

    def __init__(self, root: Path | str) -> None:
        self._root = Path(root)
        self._incoming = self._root / _INCOMING

    def _path(self, key: str) -> Path:
        return self._root.joinpath(*validate_key(key).split("/"))

    def _open_temp(self) -> tuple[BinaryIO, Path]:
        self._incoming.mkdir(parents=True, exist_ok=True)
        tmp = self._incoming / f"{os.urandom(12).hex()}.part"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        return os.fdopen(fd, "wb"), tmp

    @staticmethod
    def _commit(handle: BinaryIO, tmp: Path, path: Path) -> None:
        try:
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
            path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, path)
        except BaseException:
            FilesystemStore._discard(handle, tmp)
            raise
        _fsync_dir(path.parent)

    async def put(self, key: str, source: AsyncIterator[Piece], length: int | None = None) -> None:
        """Write the object to a temp file, fsync it and rename it into place; on any error remove the temp file.

        Raises:
            StorageError: If ``length`` is given and the source gives a different number of bytes.
            StorageUnavailable: On a filesystem error.
        """
        path = self._path(key)
        handle, tmp = await _io(self._open_temp)
        try:
            async for block in batched(source, length, BLOCK_SIZE):
                await _io(handle.write, block)
        except BaseException:
            self._discard(handle, tmp)
            raise
        await finish_or_undo(asyncio.ensure_future(_io(self._commit, handle, tmp, path)), lambda: self.delete(key))

    @staticmethod
    def _discard(handle: BinaryIO, tmp: Path) -> None:
        # Synchronous on purpose: it must also run when the task is being cancelled; both calls are quick.
        handle.close()
        tmp.unlink(missing_ok=True)

    async def get(self, key: str, offset: int = 0, length: int | None = None) -> AsyncGenerator[bytes, None]:
        """Yield bytes ``[offset, offset + length)`` (to the end when ``length`` is None) in ~1 MiB pieces.

        Raises:
            ObjectNotFound: If there is no such object.
            StorageUnavailable: On a filesystem error.
        """
        path = self._path(key)
        try:
            handle = await to_thread.run_sync(path.open, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise ObjectNotFound() from exc
        except OSError as exc:
            raise StorageUnavailable() from exc
        async with contextlib.aclosing(read_ahead(_pieces(handle, offset, length))) as pieces:
            async for piece in pieces:
                yield piece

    async def stat(self, key: str) -> int:
        """Return the object's size. Raises ObjectNotFound if it does not exist."""
        path = self._path(key)
        try:
            result = await to_thread.run_sync(path.stat)
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise ObjectNotFound() from exc
        except OSError as exc:
            raise StorageUnavailable() from exc
        if not path.is_file():
            raise ObjectNotFound()
        return result.st_size

    async def delete(self, key: str) -> None:
        """Remove the object; a missing object is fine."""
        path = self._path(key)
        try:
            await to_thread.run_sync(lambda: path.unlink(missing_ok=True))
        except (IsADirectoryError, NotADirectoryError, PermissionError) as exc:
            if not path.exists() or path.is_dir():
                return  # a key prefix (directory) or a path through a file: no such object
            raise StorageUnavailable() from exc
        except OSError as exc:
            raise StorageUnavailable() from exc

    def _sweep(self, older_than: float) -> int:
        cutoff = time.time() - older_than
        removed = 0
        for entry in self._incoming.glob("*.part"):
            try:
                if entry.stat().st_mtime <= cutoff:
                    entry.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed

    async def sweep_incomplete(self, older_than: float = 3600.0) -> int:
        """Remove temp files of uploads that were last written more than ``older_than`` seconds ago."""
        try:
            return await to_thread.run_sync(self._sweep, older_than)
        except OSError as exc:
            raise StorageUnavailable() from exc

    async def incomplete_uploads(self) -> list[str]:
        """Names of the temp files of unfinished uploads (for tests and operators)."""
        return await to_thread.run_sync(lambda: sorted(p.name for p in self._incoming.glob("*.part")))

    def _check(self) -> None:
        self._incoming.mkdir(parents=True, exist_ok=True)
        if not os.access(self._root, os.W_OK | os.X_OK):
            raise StorageUnavailable()

    async def check(self) -> None:
        """Raise StorageUnavailable unless the root directory exists (or can be created) and is writable."""
        try:
            await to_thread.run_sync(self._check)
        except OSError as exc:
            raise StorageUnavailable() from exc

    async def close(self) -> None:
        """Nothing to release: files are opened per call."""
