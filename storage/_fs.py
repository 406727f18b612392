"""A filesystem object store: temp file, fsync, atomic rename; keys map to paths under one root.

Files are created 0600 and directories 0700 whatever the process umask: objects are ciphertext, but their names
and sizes are still nobody else's business.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, TypeVar

from anyio import to_thread

from storage._errors import ObjectNotFound, StorageUnavailable
from storage._store import (
    BLOCK_SIZE,
    ObjectInfo,
    Piece,
    Transform,
    batched,
    finish_or_undo,
    probe_write,
    read_ahead,
    read_sizes,
    validate_key,
    validate_prefix,
)

__all__ = ("FilesystemStore",)

T = TypeVar("T")

_INCOMING = ".incoming"
_FILE_MODE = 0o600
_DIR_MODE = 0o700


def _make_dirs(path: Path) -> None:
    """Create ``path`` and its missing parents as 0700 (chmod after mkdir: the umask cannot widen or narrow it)."""
    missing: list[Path] = []
    while not path.is_dir():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=_DIR_MODE)
        except FileExistsError:
            continue  # created concurrently: leave its mode to whoever created it
        os.chmod(directory, _DIR_MODE)


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


async def _pieces(
    handle: BinaryIO, offset: int, length: int | None, transform: Transform | None
) -> AsyncGenerator[bytes, None]:
    """Read ``[offset, offset + length)`` (to the end when ``length`` is None), each piece through ``transform`` in
    the thread that read it; close ``handle``."""

    def read(size: int) -> tuple[int, bytes]:
        data = handle.read(size)
        return len(data), data if transform is None or not data else transform(data)

    try:
        remaining = length
        await _io(handle.seek, offset)
        for size in read_sizes():
            read_size, piece = await _io(read, size if remaining is None else min(size, remaining))
            if not read_size:
                return
            if remaining is not None:
                remaining -= read_size
            yield piece
            if remaining == 0:
                return
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
        _make_dirs(self._incoming)
        tmp = self._incoming / f"{os.urandom(12).hex()}.part"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
        os.fchmod(fd, _FILE_MODE)
        return os.fdopen(fd, "wb"), tmp

    @staticmethod
    def _commit(handle: BinaryIO, tmp: Path, path: Path) -> None:
        try:
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
            _make_dirs(path.parent)
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

    async def get(
        self, key: str, offset: int = 0, length: int | None = None, transform: Transform | None = None
    ) -> AsyncGenerator[bytes, None]:
        """Yield bytes ``[offset, offset + length)`` (to the end when ``length`` is None), each piece through
        ``transform`` if given, in the thread that read it.

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
        async with contextlib.aclosing(read_ahead(_pieces(handle, offset, length, transform))) as pieces:
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

    def _sweep(self, older_than: float) -> list[str]:
        cutoff = time.time() - older_than
        removed: list[str] = []
        for entry in sorted(self._incoming.glob("*.part")):
            try:
                if entry.stat().st_mtime <= cutoff:
                    entry.unlink()
                    removed.append(f"{_INCOMING}/{entry.name}")
            except FileNotFoundError:
                continue
        return removed

    async def sweep_incomplete(self, older_than: float = 3600.0) -> list[str]:
        """Remove temp files of uploads last written more than ``older_than`` seconds ago; return their paths.

        The paths are relative to the root (``.incoming/<random>.part``): a temp file has no key yet.
        """
        try:
            return await to_thread.run_sync(self._sweep, older_than)
        except OSError as exc:
            raise StorageUnavailable() from exc

    def _list(self, prefix: str) -> list[ObjectInfo]:
        directory, _, _ = prefix.rpartition("/")
        start = self._root.joinpath(*directory.split("/")) if directory else self._root
        found: list[ObjectInfo] = []
        for parent, dirs, files in os.walk(start):
            if Path(parent) == self._root:
                dirs[:] = [name for name in dirs if name != _INCOMING]
            for name in files:
                path = Path(parent, name)
                key = path.relative_to(self._root).as_posix()
                if not key.startswith(prefix):
                    continue
                with contextlib.suppress(FileNotFoundError):  # removed while listing
                    info = path.stat()
                    found.append(ObjectInfo(key, info.st_size, datetime.fromtimestamp(info.st_mtime, UTC)))
        return sorted(found, key=lambda item: item.key)

    async def list_objects(self, prefix: str = "") -> AsyncGenerator[ObjectInfo, None]:
        """Yield the objects whose key starts with ``prefix`` (sorted by key), with size and modification time.

        Raises:
            ValueError: If no valid key could start with ``prefix``.
            StorageUnavailable: On a filesystem error.
        """
        validate_prefix(prefix)
        for item in await _io(self._list, prefix):
            yield item

    async def probe_write(self) -> None:
        """Write and delete a tiny object; raise StorageUnavailable if the store cannot take writes."""
        await probe_write(self)

    async def incomplete_uploads(self) -> list[str]:
        """Names of the temp files of unfinished uploads (for tests and operators)."""
        return await to_thread.run_sync(lambda: sorted(p.name for p in self._incoming.glob("*.part")))

    def _check(self) -> None:
        _make_dirs(self._incoming)
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
