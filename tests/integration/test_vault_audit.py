"""The auditor's API over the service's real audit trail, the offline verifier CLI, and failing closed."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import text

from tests.support.api import DOCS, DevTokens, assert_problem, upload
from tests.support.vault_app import run_in_app, settle_audit
from vault.app import services_of
from vault.audit import merkle
from vault.plugin import VaultPlugin

AUDIT = "/api/v1/audit"


def _sql(client: TestClient[Litestar], *statements: str) -> None:
    async def run() -> None:
        async with services_of(client.app).db.engine.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement))

    run_in_app(client, run)


def _vault_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vault.cli", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_every_document_action_lands_in_the_log_with_no_content(
    client: TestClient[Litestar], as_user: DevTokens
) -> None:
    doc = upload(client, as_user("alice"), b"top secret content", title="Secret diary")
    client.get(f"{DOCS}/{doc['id']}/content", headers=as_user("alice"))
    client.get(f"{DOCS}/{doc['id']}", headers=as_user("bob"))  # denied
    client.delete(f"{DOCS}/{doc['id']}", headers=as_user("alice"))
    entries = client.get(f"{AUDIT}/entries", headers=as_user("audrey")).json()
    records = [e["record"] for e in entries]
    actions = [(r["action"], r["outcome"]) for r in records]
    for expected in [
        ("document.upload", "success"),
        ("document.download", "success"),
        ("document.read", "denied"),
        ("document.erase", "success"),
    ]:
        assert expected in actions
    dumped = json.dumps(entries)
    assert "top secret" not in dumped
    assert "Secret diary" not in dumped
    assert [e["seq"] for e in entries] == list(range(len(entries)))
    owners = {r["owner"] for r in records if r["action"].startswith("document.") and r["outcome"] == "success"}
    assert len(owners) == 1
    assert "alice" not in next(iter(owners))


def test_checkpoint_inclusion_and_export_verify_offline(
    client: TestClient[Litestar], as_user: DevTokens, tmp_path: Path, database_url: str
) -> None:
    for i in range(5):
        upload(client, as_user("alice"), os.urandom(100), title=f"doc {i}")
    auditor = as_user("audrey")
    checkpoint = client.post(f"{AUDIT}/checkpoints", headers=auditor)
    assert checkpoint.status_code == 201, checkpoint.text
    size = checkpoint.json()["tree_size"]
    assert size >= 5
    assert client.get(f"{AUDIT}/checkpoint", headers=auditor).json()["tree_size"] >= size

    entries = client.get(f"{AUDIT}/entries", headers=auditor, params={"limit": size}).json()
    root = base64.b64decode(checkpoint.json()["root_hash"])
    for entry in entries[:size]:
        proof = client.get(f"{AUDIT}/proofs/inclusion", headers=auditor, params={"seq": entry["seq"], "size": size})
        hashes = [base64.b64decode(h) for h in proof.json()["hashes"]]
        leaf = merkle.leaf_hash(base64.b64decode(entry["canonical"]))
        assert merkle.verify_inclusion(leaf, entry["seq"], size, hashes, root)

    key = client.get(f"{AUDIT}/key").json()["note_verifier"]
    bundle_path = tmp_path / "bundle.json"
    bundle_path.write_text(client.get(f"{AUDIT}/export", headers=auditor).text)
    good = _vault_cli("audit", "verify", str(bundle_path), "--key", key)
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.startswith("OK")

    # an operator edits one entry in the database: the next export no longer verifies, and says where
    if database_url.startswith("sqlite"):
        edited = "CAST(replace(CAST(canonical AS TEXT), 'document.upload', 'document.uplaod') AS BLOB)"
    else:
        edited = "convert_to(replace(convert_from(canonical, 'UTF8'), 'document.upload', 'document.uplaod'), 'UTF8')"
    _sql(client, f"UPDATE audit_entries SET canonical = {edited} WHERE seq = 3")
    tampered = tmp_path / "tampered.json"
    tampered.write_text(client.get(f"{AUDIT}/export", headers=auditor).text)
    bad = _vault_cli("audit", "verify", str(tampered), "--key", key)
    assert bad.returncode == 1
    assert "entry 3" in bad.stdout


def test_audit_routes_are_for_auditors_only(client: TestClient[Litestar], as_user: DevTokens) -> None:
    for user in ("alice", "olga"):
        assert_problem(client.get(f"{AUDIT}/entries", headers=as_user(user)), 403)
        assert_problem(client.get(f"{AUDIT}/export", headers=as_user(user)), 403)
    assert_problem(client.get(f"{AUDIT}/entries"), 401)


def test_a_read_whose_audit_entry_cannot_be_written_is_refused(
    client: TestClient[Litestar], as_user: DevTokens, database_url: str
) -> None:
    data = os.urandom(5000)
    doc = upload(client, as_user("alice"), data)
    if database_url.startswith("sqlite"):
        _sql(
            client,
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_queue BEGIN SELECT RAISE(FAIL, 'refused'); END",
        )
    else:
        _sql(
            client,
            "CREATE FUNCTION refuse_audit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$"
            " LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_queue FOR EACH ROW EXECUTE FUNCTION refuse_audit()",
        )
    response = client.get(f"{DOCS}/{doc['id']}/content", headers=as_user("alice"))
    assert_problem(response, 503)
    assert data not in response.content
    assert_problem(client.get(f"{DOCS}/{doc['id']}", headers=as_user("alice")), 503)
    assert_problem(
        client.post(
            DOCS, content=b"x", headers={**as_user("alice"), "Content-Type": "text/plain", "X-Document-Title": "t"}
        ),
        503,
    )
    _sql(client, "DROP TRIGGER refuse_audit" + ("" if database_url.startswith("sqlite") else " ON audit_queue"))
    assert client.get(f"{DOCS}/{doc['id']}/content", headers=as_user("alice")).content == data


def test_logins_and_refused_tokens_are_audited(client: TestClient[Litestar], as_user: DevTokens) -> None:
    token = client.post("/dev-idp/token", data={"grant_type": "urn:citizen-vault:dev-user", "username": "bob"})
    assert token.status_code == 200, token.text
    for _ in range(30):  # anonymous noise: counted, not one row each
        assert_problem(client.get(DOCS, headers={"Authorization": "Bearer forged.token.value"}), 401)
    records = [e["record"] for e in client.get(f"{AUDIT}/entries", headers=as_user("audrey")).json()]
    logins = [r for r in records if r["action"] == "auth.login"]
    assert len(logins) == 1
    assert logins[0]["actor"]["role"] == "citizen"
    assert "subject" not in logins[0]["actor"]  # actors are pseudonyms
    assert not [r for r in records if r["action"] == "auth.token"]
    chores = client.app.plugins.get(VaultPlugin).chores
    assert chores is not None
    run_in_app(client, chores.flush_token_denials)  # what the minute's background flush does
    settle_audit(client)
    records = [e["record"] for e in client.get(f"{AUDIT}/entries", headers=as_user("audrey")).json()]
    denied = [r for r in records if r["action"] == "auth.token"]
    assert [(r["outcome"], r["details"]["total"]) for r in denied] == [("denied", 30)]
    assert "forged" not in json.dumps(denied)
    metrics = client.get("/metrics").text
    assert 'vault_token_denials_total{reason=' in metrics
