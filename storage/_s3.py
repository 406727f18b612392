"""An S3 object store on minio-py: short timeouts, few retries, streamed multipart uploads that abort on failure."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import urllib3
from anyio import to_thread
from minio.datatypes import Object
from minio.error import InvalidResponseError, S3Error, ServerError

from storage._errors import ObjectNotFound, StorageAccessDenied, StorageError, StorageUnavailable
from storage._s3client import UNSIGNED_PAYLOAD, ObjectClient, http_pool, payload_signing_needed
from storage._s3upload import MultipartUpload, part_buffer
from storage._store import (
    ObjectInfo,
    Piece,
    Transform,
    counted,
    finish_or_undo,
    probe_write,
    read_ahead,
    read_sizes,
    validate_key,
    validate_prefix,
)

if TYPE_CHECKING:
    from urllib3 import BaseHTTPResponse

__all__ = ("S3Store",)

T = TypeVar("T")
log = logging.getLogger("storage.s3")
# A missing bucket is not a missing object: the store is misconfigured or being rebuilt (StorageUnavailable).
_NOT_FOUND = frozenset({"NoSuchKey", "NoSuchObject", "ResourceNotFound"})
_DENIED = frozenset({"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"})
_BUCKET_TAKEN = frozenset({"BucketAlreadyOwnedByYou", "BucketAlreadyExists"})
_BINARY = "application/octet-stream"
DEFAULT_PART_SIZE = 8 * 1024 * 1024
DEFAULT_PARALLEL_PARTS = 3
_LIST_PAGE = 1000


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


def _log_failure(operation: str, exc: Exception, error: StorageError) -> None:
    """Log what the store answered: its S3 error code and HTTP status, never the request (keys, signature)."""
    if isinstance(exc, S3Error):
        status = exc.response.status if exc.response is not None else "?"
        expected = isinstance(error, ObjectNotFound) or exc.code in {"InvalidRange", *_BUCKET_TAKEN}
        level = logging.INFO if expected else logging.WARNING
        log.log(level, "S3 %s failed: %s (HTTP %s)", operation, exc.code, status)
    elif isinstance(exc, ServerError):
        log.warning("S3 %s failed: HTTP %s without an S3 error code", operation, exc.status_code)
    else:
        log.warning("S3 %s failed: %s", operation, type(exc).__name__)


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
        parallel_parts: Parts uploaded at the same time (memory is about ``(parallel_parts + 1) * part_size``).
        connect_timeout: Seconds to wait for a TCP connection.
        read_timeout: Seconds to wait for response data.
        retries: Retries for connection errors and 5xx answers (short backoff).
        sign_payload: Hash object bodies into the request signature. By default only over plain HTTP to a
            non-loopback host: the bodies are authenticated ciphertext, and TLS protects them on the way
            (see ``storage._s3client``).
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
        part_size: int = DEFAULT_PART_SIZE,
        parallel_parts: int = DEFAULT_PARALLEL_PARTS,
        connect_timeout: float = 3,
        read_timeout: float = 30,
        retries: int = 2,
        sign_payload: bool | None = None,
    ) -> None:
        if part_size < 5 * 1024 * 1024:
            raise ValueError("part_size must be at least 5 MiB")
        if not 1 <= parallel_parts <= 16:
            raise ValueError("parallel_parts must be between 1 and 16")
        self._http = http_pool(connect_timeout, read_timeout, retries)
        self._client = ObjectClient(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region or "us-east-1",
            http_client=self._http,
        )
        self._bucket = bucket
        self._part_size = part_size
        self._parallel_parts = parallel_parts
        if sign_payload is None:
            sign_payload = payload_signing_needed(endpoint, secure)
        self._body_headers: dict[str, str] = {} if sign_payload else dict(UNSIGNED_PAYLOAD)
        self._bucket_ready = False
        self._accepted_at: float | None = None  # monotonic time the server last accepted our signature

    async def _call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            result = await to_thread.run_sync(lambda: func(*args, **kwargs))
        except _CLIENT_ERRORS as exc:
            error = _translate(exc)
            _log_failure(getattr(func, "__name__", "request").strip("_"), exc, error)
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

    async def put(self, key: str, source: AsyncIterator[Piece], length: int | None = None) -> None:
        """Stream ``source`` into ``key``: one PUT when it fits in a part, a multipart upload otherwise.

        Pieces are copied once, into part buffers that are reused for the whole upload; at most
        ``parallel_parts`` parts upload at a time while the next one fills, so memory stays near
        ``parallel_parts + 1`` parts whatever the object's size. On any exception (source, store or cancellation)
        the in-flight parts are waited for and the multipart upload is aborted before the exception propagates:
        no object and no parts stay behind.

        Raises:
            StorageError: If ``length`` is given and the source gives a different number of bytes.
            StorageUnavailable: If the store fails or cannot be reached.
        """
        validate_key(key)
        await self._ensure_bucket()
        upload = MultipartUpload(
            self._call,
            self._client,
            self._bucket,
            key,
            self._parallel_parts,
            self._body_headers,
            lambda: self.delete(key),
        )
        part, filled = part_buffer(self._part_size if length is None else min(length, self._part_size)), 0
        try:
            async for view in counted(source, length):
                pos = 0
                while pos < view.nbytes:
                    if filled == len(part):  # only now: the last part is never empty
                        part, filled = await upload.add_part(part, filled), 0
                    take = min(view.nbytes - pos, len(part) - filled)
                    part[filled : filled + take] = view[pos : pos + take]
                    pos, filled = pos + take, filled + take
            if upload.upload_id is None:
                body = memoryview(part)[:filled] if filled else b""
                headers = {"Content-Type": _BINARY, **self._body_headers}
                put = self._call(self._client._put_object, self._bucket, key, body, headers)
                await finish_or_undo(asyncio.ensure_future(put), lambda: self.delete(key))
                return
            await upload.add_part(part, filled)
            await upload.complete()
        except BaseException:
            await upload.abort()
            raise

    async def get(
        self, key: str, offset: int = 0, length: int | None = None, transform: Transform | None = None
    ) -> AsyncGenerator[bytes, None]:
        """Yield bytes ``[offset, offset + length)`` (each piece through ``transform`` if given, in the thread that
        read it); closing the generator frees the connection.

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
        async with contextlib.aclosing(read_ahead(self._pieces(response, transform))) as pieces:
            async for piece in pieces:
                yield piece

    async def _pieces(self, response: BaseHTTPResponse, transform: Transform | None) -> AsyncGenerator[bytes, None]:
        def read(size: int) -> bytes | None:
            # decode_content=False: objects are stored as they are, so urllib3's decoding buffer is skipped
            data = response.read(size, decode_content=False)
            if not data:
                return None
            return data if transform is None else transform(data)

        try:
            for size in read_sizes():
                piece = await self._call(read, size)
                if piece is None:
                    return
                yield piece
        finally:
            response.close()
            response.release_conn()

    async def stat(self, key: str) -> int:
        """Return the object's size. Raises ObjectNotFound if it does not exist."""
        validate_key(key)
        try:
            result = await self._call(self._client.stat_object, self._bucket, key)
        except ObjectNotFound:
            # A HEAD answer has no body, so no error code: a missing bucket looks like a missing key. It is not
            # one (the store is misconfigured or being rebuilt), and callers treat a missing key as data loss.
            if not await self._call(self._client.bucket_exists, self._bucket):
                log.warning("S3 bucket %s does not exist", self._bucket)
                raise StorageUnavailable() from None
            raise
        return int(result.size or 0)

    async def delete(self, key: str) -> None:
        """Remove the object; a missing object is fine."""
        validate_key(key)
        await self._call(self._client.remove_object, self._bucket, key)

    async def incomplete_uploads(self) -> list[str]:
        """Keys of the multipart uploads that were started and neither completed nor aborted."""
        await self._ensure_bucket()
        # minio-py's private multipart calls: see storage._s3upload.
        result = await self._call(self._client._list_multipart_uploads, self._bucket)
        return sorted(upload.object_name for upload in result.uploads)

    def _sweep(self, older_than: float) -> list[str]:
        cutoff = time.time() - older_than
        aborted: list[str] = []
        key_marker: str | None = None
        upload_marker: str | None = None
        while True:
            result = self._client._list_multipart_uploads(
                self._bucket, key_marker=key_marker, upload_id_marker=upload_marker
            )
            for upload in result.uploads:
                started = upload.initiated_time
                if upload.upload_id and (started is None or started.timestamp() <= cutoff):
                    self._client._abort_multipart_upload(self._bucket, upload.object_name, upload.upload_id)
                    aborted.append(upload.object_name)
            if not result.is_truncated:
                return aborted
            # minio 7.2 stores the next upload-id marker under a misspelt attribute name: read either spelling
            upload_marker = getattr(result, "next_upload_id_marker", None) or getattr(
                result, "self._next_upload_id_marker", None
            )
            key_marker = result.next_key_marker

    async def sweep_incomplete(self, older_than: float = 3600.0) -> list[str]:
        """Abort multipart uploads started more than ``older_than`` seconds ago; return their object keys."""
        await self._ensure_bucket()
        return await self._call(self._sweep, older_than)

    def _list_page(self, objects: Iterator[Object]) -> list[ObjectInfo]:
        page: list[ObjectInfo] = []
        for item in itertools.islice(objects, _LIST_PAGE):
            if item.is_dir or item.object_name is None:
                continue
            modified = item.last_modified or datetime.fromtimestamp(0, UTC)
            page.append(ObjectInfo(item.object_name, int(item.size or 0), modified.astimezone(UTC)))
        return page

    async def list_objects(self, prefix: str = "") -> AsyncGenerator[ObjectInfo, None]:
        """Yield the objects whose key starts with ``prefix`` (in key order), with size and last-modified time.

        Pages of up to 1,000 keys are fetched in a worker thread as the caller iterates.

        Raises:
            ValueError: If no valid key could start with ``prefix``.
            StorageUnavailable: If the store fails or cannot be reached.
        """
        validate_prefix(prefix)
        await self._ensure_bucket()
        objects = self._client.list_objects(self._bucket, prefix=prefix or None, recursive=True)
        while page := await self._call(self._list_page, objects):
            for item in page:
                yield item

    async def probe_write(self) -> None:
        """Write and delete a tiny object under ``write-probe/``; raise StorageUnavailable if writes fail.

        Unlike :meth:`check`, this sees a full store, a quota or a read-only credential.
        """
        await self._ensure_bucket()
        await probe_write(self)

    async def close(self) -> None:
        """Close the connection pool."""
        self._http.clear()
