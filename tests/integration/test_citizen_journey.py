"""A citizen's journey over HTTP against a real uvicorn, with tokens from the external OpenID provider and the
documents in SeaweedFS: upload 50 MiB, list, download whole and by range, new version, erase."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from minio import Minio

from tests.services.oidc_provider import OidcProvider
from tests.services.seaweedfs import S3Server
from tests.support.vault_app import LiveServer, bearer, make_settings, running_server

MiB = 1024 * 1024
BUCKET = "vault-journey"


@pytest.fixture
def live(tmp_path: Path, database_url: str, oidc_provider: OidcProvider, s3_server: S3Server) -> Iterator[LiveServer]:
    settings = make_settings(
        tmp_path,
        database_url,
        oidc_issuer=oidc_provider.issuer,
        oidc_audience=oidc_provider.audience,
        storage_url=s3_server.url(BUCKET),
    )
    with running_server(settings) as server:
        yield server


def _raw_objects(s3: S3Server) -> dict[str, bytes]:
    client = Minio(s3.endpoint, access_key=s3.access_key, secret_key=s3.secret_key, secure=False)
    objects = {}
    for item in client.list_objects(BUCKET, recursive=True):
        response = client.get_object(BUCKET, item.object_name)
        try:
            objects[item.object_name] = response.read()
        finally:
            response.close()
            response.release_conn()
    return objects


def _stream_upload(http: httpx.Client, token: str, data: bytes, path: str = "/api/v1/documents") -> httpx.Response:
    def body() -> Iterator[bytes]:
        view = memoryview(data)
        for start in range(0, len(data), MiB):
            yield bytes(view[start : start + MiB])

    return http.post(
        path,
        content=body(),
        headers={
            **bearer(token),
            "Content-Type": "application/octet-stream",
            "X-Document-Title": "Land registry extract",
            "X-Document-Kind": "permit",
        },
    )


def test_citizen_journey_with_external_provider_and_s3(
    live: LiveServer, oidc_provider: OidcProvider, s3_server: S3Server
) -> None:
    token = oidc_provider.token("citizen-a")
    data = os.urandom(50 * MiB)
    marker = b"PLAINTEXT-MARKER-" + os.urandom(16).hex().encode()
    data = data[:1000] + marker + data[1000 + len(marker) :]
    digest = hashlib.sha256(data).hexdigest()

    with live.client() as http:
        me = http.get("/api/v1/me", headers=bearer(token)).json()
        assert me["roles"] == ["citizen"]

        created = _stream_upload(http, token, data)
        assert created.status_code == 201, created.text
        doc = created.json()
        assert (doc["size"], doc["sha256"]) == (len(data), digest)

        listing = http.get("/api/v1/documents", headers=bearer(token)).json()
        assert [d["id"] for d in listing["items"]] == [doc["id"]]

        hasher, size = hashlib.sha256(), 0
        with http.stream("GET", f"/api/v1/documents/{doc['id']}/content", headers=bearer(token)) as response:
            assert response.status_code == 200
            for piece in response.iter_bytes():
                hasher.update(piece)
                size += len(piece)
        assert (size, hasher.hexdigest()) == (len(data), digest)

        start, end = 20 * MiB - 10, 30 * MiB + 10
        ranged = http.get(
            f"/api/v1/documents/{doc['id']}/content", headers={**bearer(token), "Range": f"bytes={start}-{end}"}
        )
        assert ranged.status_code == 206
        assert hashlib.sha256(ranged.content).digest() == hashlib.sha256(data[start : end + 1]).digest()

        # nothing in the store reveals the plaintext
        stored = _raw_objects(s3_server)
        assert len(stored) == 1
        blob = next(iter(stored.values()))
        assert marker not in blob
        assert data[5 * MiB : 5 * MiB + 64] not in blob
        assert blob[:4] == b"CVLT"

        second = os.urandom(2 * MiB + 3)
        versioned = _stream_upload(http, token, second, f"/api/v1/documents/{doc['id']}/versions")
        assert versioned.status_code == 201, versioned.text
        assert versioned.json()["version"] == 2
        latest = http.get(f"/api/v1/documents/{doc['id']}/content", headers=bearer(token))
        assert hashlib.sha256(latest.content).digest() == hashlib.sha256(second).digest()
        first = http.get(f"/api/v1/documents/{doc['id']}/content?version=1", headers=bearer(token))
        assert hashlib.sha256(first.content).hexdigest() == digest

        other = oidc_provider.token("citizen-b")
        assert http.get(f"/api/v1/documents/{doc['id']}/content", headers=bearer(other)).status_code == 404

        assert http.delete(f"/api/v1/documents/{doc['id']}", headers=bearer(token)).status_code == 204
        assert http.get(f"/api/v1/documents/{doc['id']}", headers=bearer(token)).status_code == 404
    assert _raw_objects(s3_server) == {}
