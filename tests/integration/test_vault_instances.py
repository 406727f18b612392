"""Two service instances on one PostgreSQL database and one object store, as behind a load balancer: concurrent
uploads and downloads through both give one gap-free audit log whose export verifies offline."""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.services import postgres
from tests.support.vault_app import bearer, make_settings, running_server
from vault.app import services_of
from vault.audit.verify import verify_bundle


def _round_trip(url: str, token: str, size: int) -> bool:
    data = os.urandom(size)
    with httpx.Client(base_url=url, headers=bearer(token), timeout=120) as http:
        created = http.post(
            "/api/v1/documents",
            content=data,
            headers={"Content-Type": "application/octet-stream", "X-Document-Title": "parallel"},
        )
        created.raise_for_status()
        body = http.get(f"/api/v1/documents/{created.json()['id']}/content").content
    return hashlib.sha256(body).digest() == hashlib.sha256(data).digest()


def test_two_instances_share_one_gap_free_verifiable_log(tmp_path: Path, postgres_url: str) -> None:
    name = postgres.create_database()
    try:
        # one public URL for both, as behind a load balancer (it names the issuer of the development provider)
        settings = make_settings(tmp_path, postgres.database_url(name), public_url="https://vault.example")
        with running_server(settings) as first, running_server(settings) as second:
            tokens = {user: services_of(first.app).dev_idp.issue_access_token(user) for user in ("alice", "bob")}
            jobs = [
                (server.url, tokens[user], 50_000 + 70_000 * i)
                for i in range(6)
                for server in (first, second)
                for user in ("alice", "bob")
            ]
            with ThreadPoolExecutor(max_workers=8) as pool:
                results = list(pool.map(lambda job: _round_trip(*job), jobs))
            assert results == [True] * len(jobs)
            owned = {}
            for user, token in tokens.items():
                with httpx.Client(base_url=second.url, headers=bearer(token), timeout=60) as http:
                    owned[user] = {
                        d["id"] for d in http.get("/api/v1/documents", params={"limit": 100}).json()["items"]
                    }
            assert len(owned["alice"]) == len(owned["bob"]) == len(jobs) // 2
            assert not owned["alice"] & owned["bob"]  # no cross-user leak

            auditor = bearer(services_of(second.app).dev_idp.issue_access_token("audrey"))
            with httpx.Client(base_url=first.url, headers=auditor, timeout=60) as http:
                assert http.post("/api/v1/audit/checkpoints").status_code == 201
                bundle = http.get("/api/v1/audit/export").json()
                key = http.get("/api/v1/audit/key").json()["note_verifier"]
        seqs = [entry["seq"] for entry in bundle["entries"]]
        assert seqs == list(range(len(seqs)))
        assert len(seqs) >= 2 * len(jobs)  # an upload and a download per job
        verdict = verify_bundle(bundle, trusted_key=key)
        assert verdict.ok, verdict.problem
    finally:
        postgres.drop_database(name)
