"""S3 answers become the storage library's errors, and the log names the S3 code (never a secret)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
import urllib3
from minio.error import S3Error

from storage import ObjectNotFound, S3Store, StorageAccessDenied, StorageError, StorageUnavailable

SECRET = "s3cr3t-never-in-logs"


def s3_error(code: str, status: int) -> S3Error:
    response = urllib3.HTTPResponse(body=b"", status=status)
    return S3Error(response, code, "message from the store", "/bucket/key", "request-id", "host-id", "bucket", "key")


def store_answering(error: Exception) -> S3Store:
    """A store whose every object request fails with ``error`` (nothing on the network is contacted)."""
    store = S3Store("127.0.0.1:9", "AKID", SECRET, "bucket")
    store._bucket_ready = True

    def failing(name: str) -> object:
        def fail(*args: object, **kwargs: object) -> None:
            raise error

        fail.__name__ = name  # the log names the client call
        return fail

    for name in ("_put_object", "stat_object", "get_object", "remove_object"):
        setattr(store._client, name, failing(name))
    store._client.bucket_exists = lambda bucket: True  # type: ignore[method-assign]  # the bucket is there
    return store


async def one_piece() -> AsyncIterator[bytes]:
    yield b"x"


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("QuotaExceeded", 403, StorageUnavailable),
        ("XMinioStorageFull", 507, StorageUnavailable),
        ("SlowDown", 503, StorageUnavailable),
        ("AccessDenied", 403, StorageAccessDenied),
        ("SignatureDoesNotMatch", 403, StorageAccessDenied),
        ("NoSuchBucket", 404, StorageUnavailable),
    ],
)
async def test_write_failures_are_unavailable_and_log_their_code(
    code: str, status: int, expected: type[StorageError], caplog: pytest.LogCaptureFixture
) -> None:
    store = store_answering(s3_error(code, status))
    with caplog.at_level(logging.INFO, logger="storage"):
        with pytest.raises(expected) as info:
            await store.probe_write()
        with pytest.raises(expected):
            await store.put("v1/k", one_piece(), 1)
    assert isinstance(info.value, StorageUnavailable)
    assert f"{code} (HTTP {status})" in caplog.text
    assert SECRET not in caplog.text
    assert "message from the store" not in caplog.text, "only the code and status: messages may echo requests"
    await store.close()


@pytest.mark.parametrize("code", ["NoSuchKey", "NoSuchObject"])
async def test_a_missing_key_is_object_not_found(code: str, caplog: pytest.LogCaptureFixture) -> None:
    store = store_answering(s3_error(code, 404))
    with caplog.at_level(logging.INFO, logger="storage"):
        for read in (store.stat("v1/k"), store.get("v1/k").__anext__()):
            with pytest.raises(ObjectNotFound) as info:
                await read
            assert not isinstance(info.value, StorageUnavailable)
    assert {record.levelno for record in caplog.records} == {logging.INFO}, "an expected answer, not a warning"
    await store.close()


async def test_a_missing_key_in_a_missing_bucket_is_unavailable() -> None:
    store = store_answering(s3_error("NoSuchKey", 404))  # what a HEAD answer looks like either way
    store._client.bucket_exists = lambda bucket: False  # type: ignore[method-assign]
    with pytest.raises(StorageUnavailable):
        await store.stat("v1/k")
    await store.close()


async def test_connection_failures_log_their_kind(caplog: pytest.LogCaptureFixture) -> None:
    store = store_answering(urllib3.exceptions.MaxRetryError(None, "/bucket/key"))  # type: ignore[arg-type]
    with caplog.at_level(logging.INFO, logger="storage"), pytest.raises(StorageUnavailable):
        await store.stat("v1/k")
    assert "S3 stat_object failed: MaxRetryError" in caplog.text
    await store.close()
