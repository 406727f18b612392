"""Signing evidence per signed version (JSON and PDF) with the audit receipt of the signing event, and access-log
receipts, each checked offline with `vault audit verify-receipt`."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient

from auth import DEV_ACR
from tests.support.api import DOCS, DevTokens, assert_problem, later, subject, upload
from vault.audit.receipts import verify_receipt

MINIMAL = (Path(__file__).resolve().parents[1] / "data" / "pdf" / "minimal.pdf").read_bytes()


def _verify_offline(receipt: dict[str, Any], key: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / f"receipt-{receipt['seq']}.json"
    path.write_text(json.dumps(receipt))
    return subprocess.run(
        [sys.executable, "-m", "vault.cli", "audit", "verify-receipt", str(path), "--key", key],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_the_evidence_of_a_citizens_signature_names_her_and_proves_the_signing_event(
    client: TestClient[Litestar], as_user: DevTokens, tmp_path: Path
) -> None:
    alice = as_user("alice")
    doc = upload(client, alice, MINIMAL, title="Lease", media_type="application/pdf")
    assert client.post(f"{DOCS}/{doc['id']}/signatures", json={"reason": "I agree"}, headers=alice).status_code == 201
    signed = client.get(f"{DOCS}/{doc['id']}/content", headers=alice).content
    versions = client.get(f"{DOCS}/{doc['id']}/versions", headers=alice).json()

    response = client.get(f"{DOCS}/{doc['id']}/signatures/2/evidence", headers=alice)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    evidence = response.json()
    assert evidence["format"] == "citizen-vault/signing-evidence/v1"
    assert evidence["document"]["sha256"] == hashlib.sha256(signed).hexdigest()
    identity = evidence["identity"]
    assert identity["name"] == "Alice Citizen"
    assert identity["uri"] == f"{identity['issuer']}#{subject('alice')}"
    assert identity["acr"] == DEV_ACR  # the development provider's: no assurance, and the evidence says so
    assert evidence["timestamp"]["time"]
    cert_sha = hashlib.sha256(base64.b64decode(evidence["certificate"]["der_base64"])).hexdigest()
    assert evidence["certificate"]["sha256"].replace(":", "").lower() == cert_sha

    # the receipt of the signing event verifies against the log's published key, in-process and offline
    receipt = evidence["inclusion_proof"]
    key = client.get("/api/v1/audit/key").json()["note_verifier"]
    verdict = verify_receipt(receipt, key)
    assert verdict.ok, verdict.reason
    assert verdict.record is not None
    assert verdict.record["action"] == "document.version"
    assert verdict.record["objects"]["version"] == versions[1]["id"]
    assert verdict.record["details"]["certificate_sha256"] == cert_sha
    checked = _verify_offline(receipt, key, tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("OK")

    pdf = client.get(f"{DOCS}/{doc['id']}/signatures/2/evidence", params={"format": "pdf"}, headers=alice)
    assert (pdf.status_code, pdf.headers["content-type"]) == (200, "application/pdf")
    assert pdf.content.startswith(b"%PDF")
    assert client.get(f"{DOCS}/{doc['id']}/content", headers=alice).content == signed  # the PDF is untouched

    assert_problem(client.get(f"{DOCS}/{doc['id']}/signatures/1/evidence", headers=alice), 404)  # an upload
    assert_problem(client.get(f"{DOCS}/{doc['id']}/signatures/3/evidence", headers=alice), 404)
    assert_problem(client.get(f"{DOCS}/{doc['id']}/signatures/2/evidence", headers=as_user("bob")), 404)


def test_a_seal_has_evidence_without_a_person(client: TestClient[Litestar], as_user: DevTokens) -> None:
    alice = as_user("alice")
    doc = upload(client, alice, MINIMAL, media_type="application/pdf")
    grant = {"agency": "tax-office", "permissions": ["view", "sign"], "expires_at": later(days=1)}
    assert client.post(f"{DOCS}/{doc['id']}/grants", json=grant, headers=alice).status_code == 201
    assert client.post(f"{DOCS}/{doc['id']}/signatures", json={}, headers=as_user("olga")).status_code == 201
    evidence = client.get(f"{DOCS}/{doc['id']}/signatures/2/evidence", headers=alice).json()
    assert evidence["identity"] is None
    assert "tax-office" in evidence["certificate"]["subject"]
    assert evidence["timestamp"] is not None  # the default level with a TSA: B-T


def test_every_access_log_row_has_a_receipt_that_verifies_offline(
    client: TestClient[Litestar], as_user: DevTokens, tmp_path: Path
) -> None:
    alice = as_user("alice")
    doc = upload(client, alice, b"my payslip", title="Payslip")
    client.get(f"{DOCS}/{doc['id']}/content", headers=alice)
    rows = client.get("/api/v1/me/access-log", headers=alice).json()["items"]
    assert len(rows) >= 2
    key = client.get("/api/v1/audit/key").json()["note_verifier"]
    for row in rows:
        response = client.get(f"/api/v1/me/access-log/{row['seq']}/receipt", headers=alice)
        assert response.status_code == 200, response.text
        receipt = response.json()
        verdict = verify_receipt(receipt, key)
        assert verdict.ok, verdict.reason
        assert verdict.record is not None
        assert (verdict.record["seq"], verdict.record["action"]) == (row["seq"], row["action"])
    checked = _verify_offline(receipt, key, tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # a tampered entry, or another log's key, fails offline
    forged = dict(receipt)
    record = json.loads(base64.b64decode(receipt["entry"]))
    record["action"] = "document.erase"
    forged["entry"] = base64.b64encode(json.dumps(record).encode()).decode()
    assert _verify_offline(forged, key, tmp_path).returncode == 1
    other = key.split("+", 1)[0] + "+00000000+" + key.rsplit("+", 1)[-1]
    assert _verify_offline(receipt, other, tmp_path).returncode == 1

    # only the citizen's own rows
    assert_problem(client.get(f"/api/v1/me/access-log/{rows[0]['seq']}/receipt", headers=as_user("bob")), 404)
    assert_problem(client.get("/api/v1/me/access-log/999999/receipt", headers=alice), 404)
