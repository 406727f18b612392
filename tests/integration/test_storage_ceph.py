"""Ceph RGW as the object store: losing an OSD mid-upload, and 403s that mean "unavailable", not "wrong key".

The contract tests (test_storage_store.py, test_storage_pipeline.py) also run on RGW; these are the faults only a
distributed store has. The cluster is shared by the session: every test leaves all three OSDs up.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import aclosing

import pytest

from storage import (
    S3Store,
    StorageAccessDenied,
    StorageUnavailable,
    canonical_context,
    decrypt_from_store,
    encrypt_to_store,
    generate_key,
)
from tests.integration.test_storage_support import MiB, new_key, pieces, read_all
from tests.services.ceph import OSDS, CephCluster

pytestmark = pytest.mark.ceph

CONTEXT = canonical_context("citizen-vault/object/v1", [("owner", "o-1"), ("document", "d-1"), ("version", "v-1")])


def rgw_store(ceph: CephCluster, access_key: str | None = None, secret_key: str | None = None) -> S3Store:
    return S3Store(
        ceph.endpoint,
        access_key or ceph.access_key,
        secret_key or ceph.secret_key,
        f"c-{secrets.token_hex(6)}",
        retries=0,  # no client retries: what RGW answers is what the store sees
    )


async def sha256_of_plaintext(store: S3Store, key: str, dek: bytes, size: int) -> str:
    digest = hashlib.sha256()
    async with aclosing(decrypt_from_store(store, key, dek, CONTEXT, size)) as stream:
        async for piece in stream:
            digest.update(piece)
    return digest.hexdigest()


async def test_osd_killed_mid_upload_the_upload_completes_and_reads_back(ceph: CephCluster) -> None:
    victim = ceph.busiest_osd()
    store = rgw_store(ceph)
    await store.check()
    data, key, dek = os.urandom(64 * MiB), new_key(), generate_key()
    uploaded = 0

    async def kills_an_osd_midway() -> AsyncIterator[bytes]:
        nonlocal uploaded
        for start in range(0, len(data), MiB):
            if start == 24 * MiB:
                await asyncio.to_thread(ceph.kill_osd, victim)
            uploaded += MiB
            yield data[start : start + MiB]

    result = await encrypt_to_store(store, key, dek, CONTEXT, kills_an_osd_midway(), plaintext_size=len(data))
    assert uploaded == len(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    await asyncio.to_thread(ceph.wait_osd_down, victim)
    assert ceph.osds_up() == set(range(OSDS)) - {victim}
    assert await sha256_of_plaintext(store, key, dek, len(data)) == result.sha256, "degraded read"
    assert await store.incomplete_uploads() == []

    await asyncio.to_thread(ceph.start_osd, victim)
    assert ceph.osds_up() == set(range(OSDS))
    assert await sha256_of_plaintext(store, key, dek, len(data)) == result.sha256, "read with the OSD back"
    await store.close()


async def test_denial_while_the_key_is_unreadable_is_unavailable_not_access_denied(ceph: CephCluster) -> None:
    store = rgw_store(ceph)
    key = new_key()
    await store.put(key, pieces(b"stored before the outage"))
    # Both copies of the access key's index object go down and radosgw forgets the user it had cached: its
    # lookup times out (rados osd op timeout) and it answers 403 InvalidAccessKeyId to a key that worked.
    holders = ceph.key_osds(ceph.access_key)
    for osd in holders:
        await asyncio.to_thread(ceph.kill_osd, osd)
    await asyncio.to_thread(ceph.forget_cached_users)
    with pytest.raises(StorageUnavailable) as info:
        await read_all(store, key)
    assert type(info.value) is StorageUnavailable, "a misleading 403 is an outage, never an access error"
    assert getattr(info.value.__cause__, "code", None) in {"InvalidAccessKeyId", "AccessDenied"}, (
        "the cause is RGW's 403 (if RGW answers otherwise, this test no longer covers the mapping)"
    )
    await asyncio.to_thread(ceph.start_osd, *holders)
    assert await read_all(store, key) == b"stored before the outage"
    await store.close()


async def test_wrong_secret_is_access_denied(ceph: CephCluster) -> None:
    store = rgw_store(ceph, secret_key="not-the-secret")
    with pytest.raises(StorageAccessDenied):
        await store.check()
    await store.close()


async def test_revoked_key_is_access_denied_once_its_last_success_is_old(
    ceph: CephCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    uid, access, secret = f"revoked-{secrets.token_hex(4)}", f"AK{secrets.token_hex(8).upper()}", secrets.token_hex(16)
    ceph.radosgw_admin("user", "create", "--uid", uid, "--display-name", uid, "--access-key", access,
                          "--secret-key", secret)  # fmt: skip
    store = rgw_store(ceph, access, secret)
    await store.check()
    ceph.radosgw_admin("user", "rm", "--uid", uid, "--purge-data")
    with pytest.raises(StorageUnavailable) as recent:
        await store.put(new_key(), pieces(b"x"), 1)
    assert type(recent.value) is StorageUnavailable, "seconds after a success, a 403 is taken for an outage"
    monkeypatch.setattr(store, "_accepted_at", store._accepted_at - 3600)  # type: ignore[operator]
    with pytest.raises(StorageAccessDenied):
        await store.put(new_key(), pieces(b"x"), 1)
    await store.close()
