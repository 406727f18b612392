"""scripts/backup and scripts/restore against the real PostgreSQL and SeaweedFS: after a restore into a fresh
database, a fresh bucket and a fresh data directory, every document reads back byte for byte through the HTTP API
and the audit log verifies offline (`vault audit verify`) against the key pinned before the backup."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.services import postgres
from tests.services.seaweedfs import S3Server
from tests.support.vault_app import bearer, make_settings, running_server

pytestmark = [pytest.mark.postgres, pytest.mark.s3]

REPO = Path(__file__).resolve().parents[2]
PUBLIC_URL = "https://vault.example"  # one public URL before and after: the issuer and the audit origin


@pytest.fixture
def databases(postgres_url: str) -> Iterator[tuple[str, str]]:
    """Two fresh PostgreSQL databases: the live one and the restore target."""
    names = (postgres.create_database(), postgres.create_database())
    try:
        yield postgres.database_url(names[0]), postgres.database_url(names[1])
    finally:
        for name in names:
            postgres.drop_database(name)


def operator_env(database_url: str, storage_url: str, keyring: Path) -> dict[str, str]:
    """The variables an operator's shell has: the service's own, and the venv's tools on PATH."""
    bin_dir = str(Path(sys.executable).parent)
    return {
        **os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "VAULT_PYTHON": sys.executable,
        "VAULT_DATABASE_URL": database_url, "VAULT_STORAGE_URL": storage_url, "VAULT_KEY_PROVIDER": f"local:{keyring}",
    }  # fmt: skip


def run_script(name: str, directory: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REPO / "scripts" / name), str(directory)], env=env, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip


def token(url: str, user: str) -> dict[str, str]:
    """A bearer header for a demo user, from the served development provider's token endpoint (over HTTP)."""
    form = {"grant_type": "urn:citizen-vault:dev-user", "username": user}
    response = httpx.post(f"{url}/dev-idp/token", data=form, timeout=60)
    response.raise_for_status()
    return bearer(response.json()["access_token"])


def upload(http: httpx.Client, data: bytes, title: str) -> str:
    response = http.post(
        "/api/v1/documents", content=data,
        headers={"Content-Type": "application/octet-stream", "X-Document-Title": title},
    )  # fmt: skip
    response.raise_for_status()
    return str(response.json()["id"])


def test_a_restored_vault_serves_every_document_and_its_log_verifies(
    tmp_path: Path, databases: tuple[str, str], s3_server: S3Server
) -> None:
    live_db, fresh_db = databases
    live_keyring, fresh_keyring = tmp_path / "live" / "keyring.json", tmp_path / "fresh" / "keys" / "keyring.json"
    live_store, fresh_store = s3_server.url("backup-live"), s3_server.url("backup-restored")
    live = make_settings(
        tmp_path / "live", live_db, storage_url=live_store, key_provider=f"local:{live_keyring}?create=true",
        public_url=PUBLIC_URL,
    )  # fmt: skip
    expected: dict[str, tuple[str, str]] = {}  # document id -> (owner, sha256 of its current version)
    with running_server(live) as server:
        for user, sizes in (("alice", [1, 70_000, 300_000]), ("bob", [65_536, 1_000])):
            with server.client(headers=token(server.url, user)) as http:
                for index, size in enumerate(sizes):
                    data = os.urandom(size)
                    expected[upload(http, data, f"{user}-{index}")] = (user, hashlib.sha256(data).hexdigest())
                first = next(doc for doc, (owner, _) in expected.items() if owner == user)
                newer = os.urandom(5_000)  # a second version: the backup keeps both, the API serves the newer
                http.post(
                    f"/api/v1/documents/{first}/versions", content=newer,
                    headers={"Content-Type": "application/octet-stream"},
                ).raise_for_status()  # fmt: skip
                expected[first] = (user, hashlib.sha256(newer).hexdigest())
                assert http.get(f"/api/v1/documents/{first}/content").status_code == 200
        with server.client(headers=token(server.url, "audrey")) as http:
            assert http.post("/api/v1/audit/checkpoints").status_code == 201
            pinned_key = http.get("/api/v1/audit/key").json()["note_verifier"]
            entries_before = len(http.get("/api/v1/audit/export").json()["entries"])

        backup_dir = tmp_path / "backup"
        made = run_script("backup", backup_dir, operator_env(live_db, live_store, live_keyring))
        assert made.returncode == 0, made.stderr
    manifest = json.loads((backup_dir / "manifest.json").read_text())
    assert len(manifest["objects"]) == len(expected) + 2  # one object per version
    assert (backup_dir / "keyring.json").stat().st_mode & 0o077 == 0

    restored_env = operator_env(fresh_db, fresh_store, fresh_keyring)
    done = run_script("restore", backup_dir, restored_env)
    assert done.returncode == 0, done.stderr
    assert f"{len(expected) + 2} objects" in done.stdout

    restored = make_settings(
        tmp_path / "fresh", fresh_db, storage_url=fresh_store, key_provider=f"local:{fresh_keyring}",
        public_url=PUBLIC_URL,
    )  # fmt: skip
    with running_server(restored) as server:
        for document, (owner, sha256) in expected.items():
            with server.client(headers=token(server.url, owner)) as http:
                response = http.get(f"/api/v1/documents/{document}/content")
                assert response.status_code == 200, (document, response.text)
                assert hashlib.sha256(response.content).hexdigest() == sha256
        with server.client(headers=token(server.url, "audrey")) as http:
            assert http.post("/api/v1/audit/checkpoints").status_code == 201
            bundle = http.get("/api/v1/audit/export").json()
    assert len(bundle["entries"]) > entries_before  # the old entries, then the reads after the restore
    bundle_path = tmp_path / "bundle.json"
    bundle_path.write_text(json.dumps(bundle))
    verified = subprocess.run(
        [sys.executable, "-m", "vault.cli", "audit", "verify", str(bundle_path), "--key", pinned_key],
        capture_output=True, text=True, timeout=120, check=False, cwd=REPO,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("OK:")


def test_restore_refuses_a_damaged_backup_and_non_empty_targets(
    tmp_path: Path, databases: tuple[str, str], s3_server: S3Server
) -> None:
    live_db, fresh_db = databases
    keyring = tmp_path / "live" / "keyring.json"
    store = s3_server.url("backup-refusals")
    settings = make_settings(
        tmp_path / "live", live_db, storage_url=store, key_provider=f"local:{keyring}?create=true",
        public_url=PUBLIC_URL,
    )  # fmt: skip
    with running_server(settings) as server, server.client(headers=token(server.url, "alice")) as http:
        upload(http, b"a document", "one")
    backup_dir = tmp_path / "backup"
    assert run_script("backup", backup_dir, operator_env(live_db, store, keyring)).returncode == 0
    assert run_script("backup", backup_dir, operator_env(live_db, store, keyring)).returncode == 1  # not empty

    # the live database and bucket are not empty: nothing is overwritten
    into_live = run_script("restore", backup_dir, operator_env(live_db, s3_server.url("backup-empty"), keyring))
    assert into_live.returncode == 1
    assert "database is not empty" in into_live.stderr
    into_full_bucket = run_script("restore", backup_dir, operator_env(fresh_db, store, tmp_path / "k.json"))
    assert into_full_bucket.returncode == 1
    assert "bucket" in into_full_bucket.stderr

    # a flipped byte in any object is found before anything is written
    manifest = json.loads((backup_dir / "manifest.json").read_text())
    damaged = backup_dir / "objects" / manifest["objects"][0]["key"]
    content = bytearray(damaged.read_bytes())
    content[-1] ^= 1
    damaged.write_bytes(bytes(content))
    refused = run_script("restore", backup_dir, operator_env(fresh_db, s3_server.url("backup-x"), tmp_path / "k.json"))
    assert refused.returncode == 1
    assert "damaged" in refused.stderr
    assert not (tmp_path / "k.json").exists()
