"""Two `vault serve` processes (one PostgreSQL database, one SeaweedFS bucket, one keyring file, one external
OpenID provider) behind nginx: citizen journeys whose requests alternate instances, a key rotation while both
serve, one account on both, and an audit export that `vault audit verify` accepts with the pinned key."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.services.oidc_provider import OidcProvider
from tests.services.seaweedfs import S3Server
from tests.support.api import later
from tests.support.cluster import Cluster, bearer, cluster, vault_cli

pytestmark = pytest.mark.system
DOCS = "/api/v1/documents"


@pytest.fixture
def deployment(tmp_path: Path, database: str, s3_server: S3Server, oidc_provider: OidcProvider) -> Iterator[Cluster]:
    shared = {
        "VAULT_DATABASE_URL": database,
        "VAULT_STORAGE_URL": s3_server.url(f"two-{secrets.token_hex(4)}"),
        "VAULT_KEY_PROVIDER": f"local:{tmp_path / 'keyring.json'}?create=true",
        "VAULT_OIDC_ISSUER": oidc_provider.issuer,
        "VAULT_OIDC_AUDIENCE": oidc_provider.audience,
    }
    with cluster(tmp_path, shared) as running:
        yield running


def upstream(response: httpx.Response) -> str:
    return response.headers["X-Upstream"]


def upload(http: httpx.Client, token: str, data: bytes, title: str = "Tax return") -> httpx.Response:
    headers = {**bearer(token), "Content-Type": "application/octet-stream", "X-Document-Title": title}
    return http.post(DOCS, content=data, headers={**headers, "X-Document-Kind": "tax-assessment"})


def test_journeys_alternate_instances_rotation_and_verifiable_log(
    deployment: Cluster, oidc_provider: OidcProvider, tmp_path: Path
) -> None:
    citizen, officer, auditor = (oidc_provider.token(p) for p in ("citizen-a", "agency-x", "auditor"))
    first, second = deployment.instances

    # one account on both: the same token is accepted by each instance and names the same person
    mes = []
    for instance in (first, second):
        with instance.client() as http:
            me = http.get("/api/v1/me", headers=bearer(citizen))
            assert me.status_code == 200, me.text
            mes.append(me.json())
            assert http.get("/api/v1/me", headers=bearer(officer)).status_code == 200
    assert mes[0] == mes[1]

    served_by: list[str] = []
    documents: dict[str, bytes] = {}
    with deployment.client() as http:
        for i in range(3):  # three journeys: upload, share with the tax office, the officer downloads, the log
            data = os.urandom(300_000 + i * 1_000_000)
            created = upload(http, citizen, data, f"Tax return {i}")
            assert created.status_code == 201, created.text
            doc = created.json()
            documents[doc["id"]] = data
            served_by.append(upstream(created))
            grant = http.post(
                f"{DOCS}/{doc['id']}/grants",
                json={"agency": "tax-office", "permissions": ["view", "download"], "purpose": "tax check",
                      "expires_at": later(days=30)},
                headers=bearer(citizen),
            )  # fmt: skip
            assert grant.status_code == 201, grant.text
            served_by.append(upstream(grant))
            for token in (citizen, officer):
                content = http.get(f"{DOCS}/{doc['id']}/content", headers=bearer(token))
                assert content.status_code == 200, content.text
                assert hashlib.sha256(content.content).digest() == hashlib.sha256(data).digest()
                served_by.append(upstream(content))
            log = http.get("/api/v1/me/access-log", headers=bearer(citizen))
            assert log.status_code == 200
            served_by.append(upstream(log))
            mine = [(e["action"], e["actor"]["agency"]) for e in log.json()["items"] if e["document_id"] == doc["id"]]
            # what happened a moment ago on the other instance is in the log already
            assert ("document.download", "tax-office") in mine, mine
            assert ("grant.create", None) in mine
            assert ("document.upload", None) in mine
        listing = http.get(DOCS, headers=bearer(citizen), params={"limit": 100}).json()["items"]
        assert {d["id"] for d in listing} == set(documents)
    # nginx alternates: consecutive requests of one client went to the other instance
    ports = {f"127.0.0.1:{instance.port}" for instance in deployment.instances}
    assert set(served_by) == ports
    alternations = sum(a != b for a, b in itertools.pairwise(served_by))
    print(f"\n{len(served_by)} journey requests, {alternations} switched instance")
    assert alternations >= len(served_by) // 2

    # a key rotation while both serve: documents from before and after read on both
    rotated = vault_cli(deployment.env, "keys", "rotate")
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    assert "KEK version 2 is current" in rotated.stdout
    for instance in (first, second):
        with instance.client() as http:
            data = os.urandom(200_000)
            after = upload(http, citizen, data, f"after rotation on {instance.name}")
            assert after.status_code == 201, after.text
            documents[after.json()["id"]] = data
    for instance in (first, second):  # documents from before and after the rotation, on both instances
        with instance.client() as http:
            for doc_id, data in documents.items():
                content = http.get(f"{DOCS}/{doc_id}/content", headers=bearer(citizen))
                assert content.status_code == 200, (instance.name, content.text)
                assert content.content == data
    with deployment.client() as http:
        log = http.get("/api/v1/me/access-log", headers=bearer(citizen), params={"limit": 100}).json()["items"]
    assert not [e for e in log if e["action"] == "document.integrity_failure"]

    # the log: a checkpoint on one instance, the export from the other, `vault audit verify` with the pinned key
    with first.client() as http:
        assert http.post("/api/v1/audit/checkpoints", headers=bearer(auditor)).status_code == 201
        key = http.get("/api/v1/audit/key").json()["note_verifier"]
    with second.client() as http:
        export = http.get("/api/v1/audit/export", headers=bearer(auditor))
        assert export.status_code == 200, export.text
        assert http.get("/api/v1/audit/key").json()["note_verifier"] == key
    bundle = tmp_path / "bundle.json"
    bundle.write_bytes(export.content)
    seqs = [entry["seq"] for entry in json.loads(export.content)["entries"]]
    assert seqs == list(range(len(seqs)))
    verdict = vault_cli(deployment.env, "audit", "verify", str(bundle), "--key", key)
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr
    assert verdict.stdout.startswith("OK")
