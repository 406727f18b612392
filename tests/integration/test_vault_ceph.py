"""The vault on Ceph RGW through its HTTP API: an OSD lost mid-upload costs nothing, and RGW's misleading 403s
during an outage reach clients as 503, never as 401/403."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.services.ceph import OSDS, CephCluster
from tests.support.api import DOCS, DevTokens, assert_problem, upload
from tests.support.vault_app import make_settings, vault_client

pytestmark = pytest.mark.ceph

MiB = 1024 * 1024


@pytest.fixture
def rgw_client(tmp_path: Path, ceph: CephCluster) -> Iterator[TestClient[Litestar]]:
    settings = make_settings(tmp_path, storage_url=ceph.url(f"vault-{secrets.token_hex(4)}"))
    with vault_client(settings) as client:
        yield client


def test_osd_killed_mid_upload_the_document_is_stored_whole(
    rgw_client: TestClient[Litestar], ceph: CephCluster
) -> None:
    tokens = DevTokens(rgw_client.app)
    data = os.urandom(64 * MiB)
    victim = ceph.busiest_osd()

    def body() -> Iterator[bytes]:
        for start in range(0, len(data), MiB):
            if start == 24 * MiB:
                ceph.kill_osd(victim)
            yield data[start : start + MiB]

    response = rgw_client.post(
        DOCS,
        content=body(),
        headers={**tokens("alice"), "Content-Type": "application/octet-stream", "X-Document-Title": "big"},
    )
    assert response.status_code == 201, response.text
    assert victim not in ceph.running_osds()
    content = rgw_client.get(f"{DOCS}/{response.json()['id']}/content", headers=tokens("alice"))
    assert content.status_code == 200
    assert hashlib.sha256(content.content).digest() == hashlib.sha256(data).digest()
    ceph.start_osd(victim)
    assert ceph.osds_up() == set(range(OSDS))


def test_misleading_403_during_an_outage_is_503(rgw_client: TestClient[Litestar], ceph: CephCluster) -> None:
    tokens = DevTokens(rgw_client.app)
    data = os.urandom(MiB)
    doc = upload(rgw_client, tokens("alice"), data)
    holders = ceph.key_osds(ceph.access_key)  # both copies of the access key's index object
    for osd in holders:
        ceph.kill_osd(osd)
    ceph.forget_cached_users()  # radosgw must look the key up again: the lookup times out, RGW answers 403
    response = rgw_client.get(f"{DOCS}/{doc['id']}/content", headers=tokens("alice"))
    assert_problem(response, 503)
    assert data[:1000] not in response.content
    ceph.start_osd(*holders)
    assert rgw_client.get(f"{DOCS}/{doc['id']}/content", headers=tokens("alice")).content == data
