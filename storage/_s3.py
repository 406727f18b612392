"""An S3 object store on minio-py: short timeouts, few retries, streamed multipart uploads that abort on failure."""

from __future__ import annotations

import asyncio
import io
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar, cast

import anyio
import urllib3
from anyio import from_thread, to_thread
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from minio import Minio
from minio.error import InvalidResponseError, S3Error, ServerError

from storage._errors import ObjectNotFound, StorageAccessDenied, StorageError, StorageUnavailable
from storage._store import BLOCK_SIZE, finish_or_undo, reblock, settle, validate_key

if TYPE_CHECKING:
    from urllib3 import BaseHTTPResponse

__all__ = ("S3Store",)

T = TypeVar("T")
_NOT_FOUND = frozenset({"NoSuchKey", "NoSuchObject", "NoSuchBucket", "ResourceNotFound"})
_DENIED = frozenset({"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"})
_BUCKET_TAKEN = frozenset({"BucketAlreadyOwnedByYou", "BucketAlreadyExists"})
_QUEUE_BLOCKS = 4


def _translate(exc: Exception) -> StorageError:
    if isinstance(exc, S3Error):
        if exc.code in _NOT_FOUND:
            return ObjectNotFound()
        if exc.code in _DENIED:
            return StorageAccessDenied()
    return StorageUnavailable()


_CLIENT_ERRORS = (S3Error, ServerError, InvalidResponseError, urllib3.exceptions.HTTPError, OSError)


class _UploadAborted(Exception):
    """Raised inside minio's read loop so that it aborts the multipart upload instead of completing it."""


class _BlockReader(io.RawIOBase):
    """A file-like object for minio's ``put_object`` fed from a bounded async queue of ~1 MiB blocks.

    ``read(n)`` returns exactly ``n`` bytes unless the stream ended (minio needs full reads). An end of stream
    after :meth:`abort` raises instead, so a failed source can never be committed as a short object.
    """

    def __init__(self, receive: MemoryObjectReceiveStream[bytes]) -> None:
        super().__init__()
        self._receive = receive
        self._aborted = threading.Event()
        self._pending = b""
        self._pos = 0

    def abort(self) -> None:
        self._aborted.set()

    def readable(self) -> bool:
        return True

    def _next_block(self) -> bool:
        try:
            self._pending = from_thread.run(self._receive.receive)
        except anyio.EndOfStream:
            if self._aborted.is_set():
                raise _UploadAborted() from None
            return False
        self._pos = 0
        return True

    def read(self, size: int | None = -1) -> bytes:
        parts: list[bytes] = []
        wanted = -1 if size is None else size
        have = 0
        while wanted < 0 or have < wanted:
            if self._pos >= len(self._pending) and not self._next_block():
                break
            take = len(self._pending) - self._pos
            if wanted >= 0:
                take = min(take, wanted - have)
            parts.append(self._pending[self._pos : self._pos + take])
            self._pos += take
            have += take
        return b"".join(parts)


class S3Store:
    """Objects in one S3 bucket, through minio-py in worker threads.

    Args:
        endpoint: ``host:port`` of the S3 server.
        access_key: Access key id.
        secret_key: Secret key.
        bucket: Bucket name; created on first use when missing.
        secure: Use HTTPS.
        region: Signing region (``us-east-1`` when omitted, which also avoids a bucket-location lookup).
        part_size: Multipart part size (at least 5 MiB); objects up to this size go up in one PUT.
        connect_timeout: Seconds to wait for a TCP connection.
        read_timeout: Seconds to wait for response data.
        retries: Retries for connection errors and 5xx answers (short backoff).
    """

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        *,
        secure: bool = False,
        region: str | None = None,
        part_size: int = 8 * 1024 * 1024,
        connect_timeout: float = 3,
        read_timeout: float = 30,
        retries: int = 2,
    ) -> None:
        if part_size < 5 * 1024 * 1024:
            raise ValueError("part_size must be at least 5 MiB")
        self._http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
            maxsize=16,
            retries=urllib3.Retry(
                total=retries, backoff_factor=0.1, status_forcelist=(500, 502, 503, 504), raise_on_status=False
            ),
        )
        self._client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region or "us-east-1",
            http_client=self._http,
        )
        self._bucket = bucket
        self._part_size = part_size
        self._bucket_ready = False

    async def _call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return await to_thread.run_sync(lambda: func(*args, **kwargs))
        except _CLIENT_ERRORS as exc:
            raise _translate(exc) from exc

    async def _ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        if not await self._call(self._client.bucket_exists, self._bucket):
            try:
                await self._call(self._client.make_bucket, self._bucket)
            except StorageError as exc:
                cause = exc.__cause__
                if not (isinstance(cause, S3Error) and cause.code in _BUCKET_TAKEN):
                    raise
        self._bucket_ready = True

    async def check(self) -> None:
        """Make a signed request (and create the bucket if missing).

        Raises:
            StorageAccessDenied: If the server rejects the credentials.
            StorageUnavailable: If the server cannot be reached.
        """
        self._bucket_ready = False
        await self._ensure_bucket()

    async def put(self, key: str, source: AsyncIterator[bytes], length: int | None = None) -> None:
        """Stream ``source`` into ``key``: one PUT when ``length`` fits in a part, a multipart upload otherwise.

        On any exception (source, store or cancellation) a started multipart upload is aborted before the
        exception propagates, so no object and no parts stay behind.

        Raises:
            StorageError: If ``length`` is given and the source gives a different number of bytes.
            StorageUnavailable: If the store fails or cannot be reached.
        """
        validate_key(key)
        await self._ensure_bucket()
        if length is not None and length <= self._part_size:
            data = await _collect(source, length)
            put = self._call(self._client.put_object, self._bucket, key, io.BytesIO(data), len(data))
            await finish_or_undo(asyncio.ensure_future(put), lambda: self.delete(key))
            return
        await self._put_streamed(key, source, length)

    async def _put_streamed(self, key: str, source: AsyncIterator[bytes], length: int | None) -> None:
        send, receive = anyio.create_memory_object_stream[bytes](_QUEUE_BLOCKS)
        reader = _BlockReader(receive)
        upload = asyncio.ensure_future(self._call(self._upload, key, reader, receive, length))
        try:
            await _feed(source, send, length)
        except BaseException:
            reader.abort()
            send.close()
            await settle(upload)
            raise
        send.close()
        await finish_or_undo(upload, lambda: self.delete(key))

    def _upload(
        self, key: str, reader: _BlockReader, receive: MemoryObjectReceiveStream[bytes], length: int | None
    ) -> None:
        try:
            self._client.put_object(
                self._bucket,
                key,
                cast(BinaryIO, reader),
                length if length is not None else -1,
                part_size=self._part_size,
            )
        finally:
            from_thread.run_sync(receive.close)

    async def get(self, key: str, offset: int = 0, length: int | None = None) -> AsyncGenerator[bytes, None]:
        """Yield bytes ``[offset, offset + length)`` in ~1 MiB pieces; closing the generator frees the connection.

        Raises:
            ObjectNotFound: If there is no such object.
            StorageUnavailable: If the store fails or cannot be reached.
        """
        validate_key(key)
        if length == 0:
            return
        try:
            response: BaseHTTPResponse = await self._call(
                self._client.get_object, self._bucket, key, offset=offset, length=length or 0
            )
        except StorageUnavailable as exc:
            if isinstance(exc.__cause__, S3Error) and exc.__cause__.code == "InvalidRange":
                return  # offset at or past the end: nothing to read, as on the filesystem
            raise
        try:
            while data := await self._call(response.read, BLOCK_SIZE):
                yield data
        finally:
            response.close()
            response.release_conn()

    async def stat(self, key: str) -> int:
        """Return the object's size. Raises ObjectNotFound if it does not exist."""
        validate_key(key)
        result = await self._call(self._client.stat_object, self._bucket, key)
        return int(result.size or 0)

    async def delete(self, key: str) -> None:
        """Remove the object; a missing object is fine."""
        validate_key(key)
        await self._call(self._client.remove_object, self._bucket, key)

    async def incomplete_uploads(self) -> list[str]:
        """Keys of the multipart uploads that were started and neither completed nor aborted."""
        await self._ensure_bucket()
        # minio-py has no public ListMultipartUploads / AbortMultipartUpload; these private calls are pinned by
        # the contract tests (tests/integration/test_storage_store.py).
        result = await self._call(self._client._list_multipart_uploads, self._bucket)
        return sorted(upload.object_name for upload in result.uploads)

    def _sweep(self, older_than: float) -> int:
        cutoff = time.time() - older_than
        aborted = 0
        while True:
            result = self._client._list_multipart_uploads(self._bucket)
            stale = [u for u in result.uploads if u.initiated_time is None or u.initiated_time.timestamp() <= cutoff]
            for upload in stale:
                if upload.upload_id:
                    self._client._abort_multipart_upload(self._bucket, upload.object_name, upload.upload_id)
            aborted += len(stale)
            if not (stale and result.is_truncated):
                return aborted

    async def sweep_incomplete(self, older_than: float = 3600.0) -> int:
        """Abort multipart uploads started more than ``older_than`` seconds ago; return how many."""
        await self._ensure_bucket()
        return await self._call(self._sweep, older_than)

    async def close(self) -> None:
        """Close the connection pool."""
        self._http.clear()


async def _collect(source: AsyncIterator[bytes], length: int) -> bytes:
    buffer = bytearray()
    async for piece in source:
        buffer += piece
        if len(buffer) > length:
            raise StorageError("upload is longer than announced")
    if len(buffer) != length:
        raise StorageError("upload is shorter than announced")
    return bytes(buffer)


async def _feed(source: AsyncIterator[bytes], send: MemoryObjectSendStream[bytes], length: int | None) -> None:
    """Push the source as 1 MiB blocks to the upload thread; stop early if the thread has given up."""
    sent = 0
    async for block in reblock(source, BLOCK_SIZE):
        sent += len(block)
        if length is not None and sent > length:
            raise StorageError("upload is longer than announced")
        try:
            await send.send(block)
        except anyio.BrokenResourceError:
            return  # the upload thread stopped; awaiting it raises its error
    if length is not None and sent != length:
        raise StorageError("upload is shorter than announced")
