"""The auditor's pages over HTTP, on SQLite and PostgreSQL: the log filtered and paged, checkpoints, proofs that
verify, and an export that `vault audit verify` accepts with the key downloaded beside it."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from litestar import Litestar
from litestar.testing import TestClient

from tests.support.portal import csrf_token, heading, sign_in
from tests.support.vault_app import settle_audit
from vault.audit import merkle

HTML = {"Accept": "text/html"}
_SEQS = re.compile(r'<tr class="log-entry">\s*<td[^>]*>(\d+)</td>')


def seqs(page: str) -> list[int]:
    return [int(s) for s in _SEQS.findall(page)]


def signed_in_auditor(client: TestClient[Litestar]) -> None:
    for user in ("alice", "bob", "olga"):  # a few entries to browse: each sign-in is recorded
        sign_in(client, user)
        client.cookies.clear()
    sign_in(client, "audrey")
    settle_audit(client)


def test_only_auditors_see_the_log(client: TestClient[Litestar]) -> None:
    visitor = client.get("/auditor", headers=HTML, follow_redirects=False)
    assert visitor.status_code == 303
    assert visitor.headers["location"] == "/login?next=%2Fauditor"
    sign_in(client, "alice")
    for path in ("/auditor", "/auditor/checkpoints", "/auditor/export", "/auditor/proofs/inclusion?seq=0"):
        assert client.get(path, headers=HTML).status_code == 403, path


def test_the_log_filters_by_action_and_day_and_pages(client: TestClient[Litestar]) -> None:
    signed_in_auditor(client)
    everything = client.get("/auditor", headers=HTML)
    assert everything.status_code == 200
    assert "script-src 'self'" in everything.headers["content-security-policy"]
    assert heading(everything) == "The audit log"
    assert seqs(everything.text)[:4] == [0, 1, 2, 3]

    logins = client.get("/auditor", params={"action": "auth.login"}, headers=HTML)
    rows = re.findall(r'<td data-label="Action"><code>([a-z_.]+)</code>', logins.text)
    assert rows
    assert set(rows) == {"auth.login"}
    assert len(rows) == 8  # alice, bob, olga, audrey: each at the development provider and at the portal

    today = datetime.now(UTC).date()
    same_day = client.get("/auditor", params={"from": today.isoformat(), "to": today.isoformat()}, headers=HTML)
    assert seqs(same_day.text)[: len(seqs(everything.text))] == seqs(everything.text)  # and the reads since
    tomorrow = (today + timedelta(days=1)).isoformat()
    later = client.get("/auditor", params={"from": tomorrow}, headers=HTML)
    assert seqs(later.text) == []
    assert "No entry matches." in later.text
    yesterday = (today - timedelta(days=1)).isoformat()
    assert seqs(client.get("/auditor", params={"to": yesterday}, headers=HTML).text) == []

    wrong = client.get("/auditor", params={"from": "30/11/2026"}, headers=HTML)
    assert wrong.status_code == 400
    assert "Enter the first day as a date" in wrong.text
    assert "error-summary" in wrong.text

    for _ in range(30):  # every page view is itself an audit.read entry: enough for a second page
        client.get("/auditor", params={"action": "audit.read"}, headers=HTML)
    settle_audit(client)
    first = client.get("/auditor", params={"action": "audit.read"}, headers=HTML)
    first_seqs = seqs(first.text)
    assert len(first_seqs) == 25
    following = re.search(r'<a href="([^"]+)" rel="next">Later entries</a>', first.text)
    assert following is not None
    assert "action=audit.read" in following[1]
    second = client.get(following[1].replace("&amp;", "&"), headers=HTML)
    second_seqs = seqs(second.text)
    assert second_seqs
    assert min(second_seqs) > max(first_seqs)
    assert "First entries" in second.text


def test_an_inclusion_proof_verifies_against_its_signed_checkpoint(client: TestClient[Litestar]) -> None:
    signed_in_auditor(client)
    download = client.get("/auditor/proofs/inclusion", params={"seq": 1}, headers=HTML)
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment;")
    proof = download.json()
    assert (proof["kind"], proof["seq"]) == ("inclusion", 1)
    entry = base64.b64decode(proof["entry"])
    assert json.loads(entry)["seq"] == 1
    leaf = merkle.leaf_hash(entry)
    assert base64.b64encode(leaf).decode() == proof["leaf_hash"]
    root = base64.b64decode(proof["checkpoint"]["root_hash"])
    hashes = [base64.b64decode(h) for h in proof["hashes"]]
    assert merkle.verify_inclusion(leaf, 1, proof["tree_size"], hashes, root)
    assert proof["checkpoint"]["note"].splitlines()[1] == str(proof["tree_size"])
    assert client.get("/auditor/proofs/inclusion", params={"seq": 10**6}, headers=HTML).status_code == 404


def test_keeping_a_checkpoint_and_proving_consistency(client: TestClient[Litestar]) -> None:
    signed_in_auditor(client)
    page = client.get("/auditor/checkpoints", headers=HTML)
    assert heading(page) == "Checkpoints, proofs and export"
    assert "The newest checkpoint" in page.text
    refused = client.post("/auditor/checkpoints", data={}, headers=HTML)
    assert refused.status_code == 403
    kept = client.post("/auditor/checkpoints", data={"csrf_token": csrf_token(page)}, follow_redirects=False)
    assert kept.status_code == 303
    first = int(kept.headers["location"].rsplit("=", 1)[1])
    shown = client.get(kept.headers["location"], headers=HTML)
    assert f"A checkpoint of {first} entries is kept." in shown.text
    assert f'class="table__numeric">{first}</td>' in shown.text  # in the kept list

    client.cookies.clear()
    sign_in(client, "bob")  # the log grows
    client.cookies.clear()
    sign_in(client, "audrey")
    settle_audit(client)
    download = client.get("/auditor/proofs/consistency", params={"first": first, "second": ""}, headers=HTML)
    proof = download.json()  # up to the newest checkpoint
    second = proof["second"]
    assert second > first
    first_root = base64.b64decode(proof["first_checkpoint"]["root_hash"])
    second_root = base64.b64decode(proof["second_checkpoint"]["root_hash"])
    hashes = [base64.b64decode(h) for h in proof["hashes"]]
    assert merkle.verify_consistency(first, second, hashes, first_root, second_root)
    bad = client.get("/auditor/proofs/consistency", params={"first": second, "second": first}, headers=HTML)
    assert bad.status_code == 400


def test_the_export_verifies_offline_with_the_downloaded_key(client: TestClient[Litestar], tmp_path: Path) -> None:
    signed_in_auditor(client)
    page = client.get("/auditor/checkpoints", headers=HTML)
    client.post("/auditor/checkpoints", data={"csrf_token": csrf_token(page)})
    export = client.get("/auditor/export", headers=HTML)
    assert export.status_code == 200
    assert export.headers["content-disposition"] == 'attachment; filename="audit-export.json"'
    bundle = tmp_path / "audit-export.json"
    bundle.write_bytes(export.content)
    assert json.loads(export.content)["entries"]
    key = tmp_path / "audit-log-key.json"
    key.write_bytes(client.get("/auditor/key", headers=HTML).content)
    result = subprocess.run(
        [sys.executable, "-m", "vault.cli", "audit", "verify", str(bundle), "--key", str(key)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
