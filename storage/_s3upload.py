"""S3 multipart uploads: part buffers reused for the whole upload, a few parts in flight, abort on any failure.

minio-py 7.2 exposes multipart only through ``put_object`` (whose thread pool leaks its workers when an upload
fails, and which copies every part out of the reader); its private ``_create_multipart_upload``, ``_upload_part``,
``_complete_multipart_upload`` and ``_abort_multipart_upload`` are used here, pinned by the contract tests
(tests/integration/test_storage_store.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import mmap
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import anyio
from minio import Minio
from minio.datatypes import Part

from storage._errors import StorageError
from storage._store import finish_or_undo, settle

__all__ = ("MultipartUpload", "part_buffer")


class _Call(Protocol):
    """Runs a blocking client call in a worker thread, translating its errors to StorageError."""

    def __call__(self, func: Callable[..., Any], /, *args: Any) -> Awaitable[Any]: ...


def part_buffer(size: int) -> mmap.mmap:
    """A writable part buffer; anonymous memory is only committed as it is written (small objects stay small).

    Private, not shared (``mmap``'s default for anonymous memory is a shared mapping, which the kernel backs with
    shmem pages and faults in 4 KiB at a time), and marked for transparent huge pages where the kernel offers
    them: filling an 8 MiB part then costs a few faults instead of 2,048.
    """
    buffer = mmap.mmap(-1, max(size, 1), flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    if hasattr(mmap, "MADV_HUGEPAGE"):
        with contextlib.suppress(OSError):  # no THP in this kernel: 4 KiB pages, as before
            buffer.madvise(mmap.MADV_HUGEPAGE)
    return buffer


class MultipartUpload:
    """One multipart upload: started on the first part, at most ``parallel`` part uploads in flight.

    Each part is uploaded straight from its buffer (no copy), which comes back for a later part once its upload
    has finished: an upload holds at most ``parallel + 1`` buffers whatever the object's size.

    Args:
        call: Runs a client call in a worker thread (the store's error translation included).
        client: The minio client.
        bucket: Bucket name.
        key: Object key.
        parallel: Parts uploaded at the same time.
        body_headers: Headers for each part (``UNSIGNED_PAYLOAD`` to skip the payload hash).
        undo: Deletes the object; used when the caller is interrupted while the upload completes.
    """

    def __init__(
        self,
        call: _Call,
        client: Minio,
        bucket: str,
        key: str,
        parallel: int,
        body_headers: dict[str, str],
        undo: Callable[[], Awaitable[None]],
    ) -> None:
        self._call, self._client, self._bucket, self._key = call, client, bucket, key
        self._parallel, self._body_headers, self._undo = parallel, body_headers, undo
        self.upload_id: str | None = None
        self._in_flight: list[tuple[asyncio.Future[Part], mmap.mmap]] = []
        self._parts: list[Part] = []

    def _upload_part(self, upload_id: str, number: int, data: memoryview) -> Part:
        with data:
            headers = dict(self._body_headers)  # minio adds to the dict it is given: one per request
            etag = self._client._upload_part(self._bucket, self._key, data, headers, upload_id, number)  # type: ignore[arg-type]
        return Part(number, etag)

    async def add_part(self, buffer: mmap.mmap, size: int) -> mmap.mmap:
        """Start uploading ``buffer[:size]`` as the next part; return a buffer that is free to fill."""
        if self.upload_id is None:
            self.upload_id = await self._call(self._client._create_multipart_upload, self._bucket, self._key, {})
        number = len(self._parts) + len(self._in_flight) + 1
        upload = asyncio.ensure_future(self._call(self._upload_part, self.upload_id, number, memoryview(buffer)[:size]))
        self._in_flight.append((upload, buffer))
        if len(self._in_flight) < self._parallel:
            return part_buffer(len(buffer))
        finished, free = self._in_flight.pop(0)
        self._parts.append(await finished)
        return free

    async def complete(self) -> None:
        """Wait for the parts in flight and complete the upload (deleting the object if interrupted meanwhile)."""
        while self._in_flight:
            self._parts.append(await self._in_flight[0][0])
            self._in_flight.pop(0)
        assert self.upload_id is not None
        call = self._call(self._client._complete_multipart_upload, self._bucket, self._key, self.upload_id, self._parts)
        # The answer's ETag is not used: Ceph RGW sends an empty one for a completed multipart upload.
        self.upload_id = None  # from here on, an interruption is undone by deleting the object
        await finish_or_undo(asyncio.ensure_future(call), self._undo)

    async def abort(self) -> None:
        """Wait for the parts still uploading (so none lands after the abort), then abort the upload."""
        for part, _ in self._in_flight:
            await settle(part)
        self._in_flight.clear()
        if self.upload_id is not None:
            with anyio.CancelScope(shield=True), contextlib.suppress(StorageError):
                await self._call(self._client._abort_multipart_upload, self._bucket, self._key, self.upload_id)
            self.upload_id = None
