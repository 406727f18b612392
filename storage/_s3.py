"""An S3 object store on minio-py: short timeouts, few retries, streamed multipart uploads that abort on failure."""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import urllib3
from anyio import to_thread
from minio import Minio
from minio.datatypes import Part
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
_PARALLEL_PARTS = 2


# How long a successful signed request vouches for the credentials (see S3Store._denial_is_an_outage).
_TRUSTED_FOR = 300.0


def _translate(exc: Exception) -> StorageError:
    if isinstance(exc, S3Error):
        if exc.code in _NOT_FOUND:
            return ObjectNotFound()
        if exc.code in _DENIED:
            return StorageAccessDenied()
    return StorageUnavailable()


_CLIENT_ERRORS = (S3Error, ServerError, InvalidResponseError, urllib3.exceptions.HTTPError, OSError)


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
        self._accepted_at: float | None = None  # monotonic time the server last accepted our signature

    async def _call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            result = await to_thread.run_sync(lambda: func(*args, **kwargs))
        except _CLIENT_ERRORS as exc:
            error = _translate(exc)
            if isinstance(error, StorageAccessDenied) and await self._denial_is_an_outage():
                error = StorageUnavailable()
            elif isinstance(error, ObjectNotFound):
                self._accepted_at = time.monotonic()  # the server checked the signature before looking
            raise error from exc
        self._accepted_at = time.monotonic()
        return result

    async def _denial_is_an_outage(self) -> bool:
        """Whether a 403 (access denied, bad key, bad signature) is really the store failing, not our credentials.

        Ceph RGW looks an access key up in RADOS for every request whose user it has not cached (after a
        restart, a cache flush, or a watch error on its control objects, as when an OSD dies). While the
        placement group holding the key is unavailable, the lookup times out (``rados osd op timeout``) and RGW
        answers 403 ``InvalidAccessKeyId``, exactly as for a key that does not exist (Ceph 16.2, both replicas
        of the key's placement group down). So a denial is believed only when it cannot be such an outage:

        - credentials this store never got accepted: believed (a configuration error, found by ``check()``);
        - credentials accepted less than ``_TRUSTED_FOR`` seconds ago: an outage (a key revoked in that window
          reads as "unavailable" until the window passes; both answer 503);
        - accepted longer ago: one bucket probe decides (accepted: an outage; denied again: believed).
        """
        if self._accepted_at is None:
            return False
        if time.monotonic() - self._accepted_at < _TRUSTED_FOR:
            return True
        try:
            await to_thread.run_sync(self._client.bucket_exists, self._bucket)
        except S3Error as exc:
            return exc.code not in _DENIED
        except _CLIENT_ERRORS:
            return True
        self._accepted_at = time.monotonic()
        return True

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
        """Stream ``source`` into ``key``: one PUT when it fits in a part, a multipart upload otherwise.

        Parts are cut from ~1 MiB blocks and at most two are uploaded at a time, so memory stays near three
        parts. On any exception (source, store or cancellation) the in-flight parts are waited for and the
        multipart upload is aborted before the exception propagates: no object and no parts stay behind.

        Raises:
            StorageError: If ``length`` is given and the source gives a different number of bytes.
            StorageUnavailable: If the store fails or cannot be reached.
        """
        validate_key(key)
        await self._ensure_bucket()
        upload = _MultipartUpload(self, key)
        try:
            pending = bytearray()
            async for block in _counted(reblock(source, BLOCK_SIZE), length):
                pending += block
                if len(pending) > self._part_size:  # keep the last part non-empty: never send an empty part
                    await upload.add_part(bytes(pending[: self._part_size]))
                    del pending[: self._part_size]
            if upload.upload_id is None:
                put = self._call(self._client.put_object, self._bucket, key, io.BytesIO(pending), len(pending))
                await finish_or_undo(asyncio.ensure_future(put), lambda: self.delete(key))
                return
            await upload.add_part(bytes(pending))
            await upload.complete()
        except BaseException:
            await upload.abort()
            raise

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
        # minio-py 7.2 exposes multipart only through put_object (whose thread pool leaks its workers when an
        # upload fails); its private _create/_upload_part/_complete/_abort/_list_multipart_uploads calls are used
        # here and in _MultipartUpload, pinned by the contract tests (tests/integration/test_storage_store.py).
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


async def _counted(source: AsyncIterator[bytes], length: int | None) -> AsyncIterator[bytes]:
    """Pass the blocks through, raising StorageError as soon as they disagree with the announced length."""
    total = 0
    async for block in source:
        total += len(block)
        if length is not None and total > length:
            raise StorageError("upload is longer than announced")
        yield block
    if length is not None and total != length:
        raise StorageError("upload is shorter than announced")


class _MultipartUpload:
    """One multipart upload: started on the first part, at most ``_PARALLEL_PARTS`` part uploads in flight."""

    def __init__(self, store: S3Store, key: str) -> None:
        self._store, self._key = store, key
        self._client, self._bucket = store._client, store._bucket
        self.upload_id: str | None = None
        self._in_flight: list[asyncio.Future[Part]] = []
        self._parts: list[Part] = []

    def _upload_part(self, upload_id: str, number: int, data: bytes) -> Part:
        etag = self._client._upload_part(self._bucket, self._key, data, None, upload_id, number)
        return Part(number, etag)

    async def add_part(self, data: bytes) -> None:
        if self.upload_id is None:
            self.upload_id = await self._store._call(self._client._create_multipart_upload, self._bucket, self._key, {})
        number = len(self._parts) + len(self._in_flight) + 1
        call = self._store._call(self._upload_part, self.upload_id, number, data)
        self._in_flight.append(asyncio.ensure_future(call))
        if len(self._in_flight) >= _PARALLEL_PARTS:
            self._parts.append(await self._in_flight[0])
            self._in_flight.pop(0)

    async def complete(self) -> None:
        while self._in_flight:
            self._parts.append(await self._in_flight[0])
            self._in_flight.pop(0)
        assert self.upload_id is not None
        call = self._store._call(
            self._client._complete_multipart_upload, self._bucket, self._key, self.upload_id, self._parts
        )
        # The answer's ETag is not used: Ceph RGW sends an empty one for a completed multipart upload.
        self.upload_id = None  # from here on, an interruption is undone by deleting the object
        await finish_or_undo(asyncio.ensure_future(call), lambda: self._store.delete(self._key))

    async def abort(self) -> None:
        """Wait for the parts still uploading (so none lands after the abort), then abort the upload."""
        for part in self._in_flight:
            await settle(part)
        self._in_flight.clear()
        if self.upload_id is not None:
            with anyio.CancelScope(shield=True), contextlib.suppress(StorageError):
                await self._store._call(self._client._abort_multipart_upload, self._bucket, self._key, self.upload_id)
            self.upload_id = None
