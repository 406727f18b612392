"""Which S3 403s the store believes: every branch of S3Store's denial rule, on a scripted minio client.

The real cases (RGW's 403 while OSDs are down, a revoked key, a wrong secret) run on Ceph in
tests/integration/test_storage_ceph.py; this covers the rule's branches without a cluster.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from minio.error import S3Error

from storage import S3Store, StorageAccessDenied, StorageUnavailable


def denied(code: str = "InvalidAccessKeyId") -> S3Error:
    return S3Error(None, code, "", None, None, None)  # type: ignore[arg-type]


class ScriptedClient:
    """Answers ``stat_object`` and ``bucket_exists`` from a script: a value to return or an error to raise."""

    def __init__(self) -> None:
        self.stat: Any = None
        self.probe: Any = True
        self.probes = 0

    def stat_object(self, bucket: str, key: str) -> Any:
        if isinstance(self.stat, Exception):
            raise self.stat
        return self.stat

    def bucket_exists(self, bucket: str) -> bool:
        self.probes += 1
        if isinstance(self.probe, Exception):
            raise self.probe
        return bool(self.probe)


@pytest.fixture
def store() -> S3Store:
    made = S3Store("127.0.0.1:9", "AK", "SK", "bucket")
    made._client = ScriptedClient()  # type: ignore[assignment]
    return made


def client(store: S3Store) -> ScriptedClient:
    return store._client  # type: ignore[return-value]


class Stat:
    size = 5


async def test_denial_of_credentials_never_accepted_is_believed(store: S3Store) -> None:
    client(store).stat = denied("SignatureDoesNotMatch")
    with pytest.raises(StorageAccessDenied):
        await store.stat("v1/k")
    assert client(store).probes == 0


async def test_denial_soon_after_a_success_is_an_outage(store: S3Store) -> None:
    client(store).stat = Stat()
    assert await store.stat("v1/k") == 5
    client(store).stat = denied()
    with pytest.raises(StorageUnavailable) as info:
        await store.stat("v1/k")
    assert type(info.value) is StorageUnavailable
    assert client(store).probes == 0, "no probe needed inside the window"


@pytest.mark.parametrize(
    ("probe", "believed"),
    [(True, False), (denied("AccessDenied"), True), (OSError("refused"), False)],
    ids=["probe-accepted", "probe-denied", "probe-failed"],
)
async def test_denial_long_after_the_last_success_is_settled_by_a_probe(
    store: S3Store, probe: Any, believed: bool
) -> None:
    client(store).stat = Stat()
    await store.stat("v1/k")
    store._accepted_at = time.monotonic() - 3600
    client(store).stat, client(store).probe = denied(), probe
    with pytest.raises(StorageUnavailable) as info:
        await store.stat("v1/k")
    assert isinstance(info.value, StorageAccessDenied) is believed
    assert client(store).probes == 1


async def test_not_found_also_vouches_for_the_credentials(store: S3Store) -> None:
    client(store).stat = S3Error(None, "NoSuchKey", "", None, None, None)  # type: ignore[arg-type]
    with pytest.raises(Exception, match="not found"):
        await store.stat("v1/k")
    client(store).stat = denied("AccessDenied")
    with pytest.raises(StorageUnavailable) as info:
        await store.stat("v1/k")
    assert type(info.value) is StorageUnavailable
