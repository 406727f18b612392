"""LTA renewal through the service: a citizen's B-LTA document is re-timestamped by the background job once
across two instances, as a new version and an audit event; the signature stays valid."""

from __future__ import annotations

import asyncio
from pathlib import Path

import signing
from tests.support.api import DOCS, DevTokens, upload
from tests.support.vault_app import make_settings, run_in_app, settle_audit, vault_client
from vault.app import services_of
from vault.plugin import VaultPlugin

MINIMAL = (Path(__file__).resolve().parents[1] / "data" / "pdf" / "minimal.pdf").read_bytes()


def test_a_b_lta_document_is_renewed_once_across_two_instances(tmp_path: Path, database_url: str) -> None:
    # a margin longer than the development TSA certificate's life: every B-LTA document is due at once
    settings = make_settings(tmp_path, database_url, lta_renewal_margin_days=20 * 365)
    with vault_client(settings) as first, vault_client(settings, signed_in=False) as second:
        alice = DevTokens(first.app)("alice")
        doc = upload(first, alice, MINIMAL, title="Deed", media_type="application/pdf")
        signed = first.post(f"{DOCS}/{doc['id']}/signatures", json={"level": "B-LTA"}, headers=alice)
        assert signed.status_code == 201, signed.text
        plain = upload(first, alice, MINIMAL, title="Letter", media_type="application/pdf")
        assert first.post(f"{DOCS}/{plain['id']}/signatures", json={}, headers=alice).status_code == 201  # B-T
        before = first.get(f"{DOCS}/{doc['id']}/content", headers=alice).content

        counts = []
        for client in (first, second):  # both instances' chores run; the lease lets one of them work
            chores = client.app.plugins.get(VaultPlugin).chores
            assert chores is not None
            counts.append(run_in_app(client, chores.renew_archives))
        assert sorted(counts) == [0, 1]
        # a renewed document is not renewed again at the next interval (same TSA certificate: nothing to gain)
        assert run_in_app(second, services_of(second.app).archival.run) == 0

        versions = first.get(f"{DOCS}/{doc['id']}/versions", headers=alice).json()
        assert [v["origin"] for v in versions] == ["upload", "signature", "lta-renewal"]
        assert [v["origin"] for v in first.get(f"{DOCS}/{plain['id']}/versions", headers=alice).json()] == [
            "upload",
            "signature",
        ]  # B-T: nothing to renew
        after = first.get(f"{DOCS}/{doc['id']}/content", headers=alice).content
        assert after.startswith(before)  # an incremental update: the signed bytes are untouched
        assert asyncio.run(signing.archival_state(before)).document_timestamps == 1
        assert asyncio.run(signing.archival_state(after)).document_timestamps == 2
        report = first.get(f"{DOCS}/{doc['id']}/signatures", headers=alice).json()
        signature = next(s for s in report["signatures"] if s["kind"] == "signature")
        assert (signature["intact"], signature["valid"], signature["trusted"]) == (True, True, True)

        settle_audit(first)
        auditor = DevTokens(first.app)("audrey")
        renewals = first.get("/api/v1/audit/entries", params={"action": "document.lta_renew"}, headers=auditor)
        (entry,) = renewals.json()
        assert entry["record"]["objects"]["document"] == doc["id"]
        assert entry["record"]["objects"]["version"] == versions[2]["id"]
        assert entry["record"]["details"]["document_timestamps"] == 2
        log = first.get("/api/v1/me/access-log", headers=alice).json()["items"]
        assert [e["action"] for e in log].count("document.lta_renew") == 1  # the citizen sees it too
