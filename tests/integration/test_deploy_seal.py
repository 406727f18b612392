"""The seal and trust root that compose's one-shot PKI step writes (deploy/init_pki.py) sign and verify: registered
as an agency's seal, a B-B seal made with them on a citizen's document reads intact, valid and trusted through the
API."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.api import DevTokens, later, upload
from tests.support.vault_app import make_settings, vault_client

REPO = Path(__file__).resolve().parents[2]
MINIMAL = (REPO / "tests" / "data" / "pdf" / "minimal.pdf").read_bytes()


def test_the_compose_seal_signs_documents_the_vault_trusts(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    subprocess.run([sys.executable, str(REPO / "deploy" / "init_pki.py"), str(pki)], check=True, timeout=60)
    # the paths compose.yaml gives VAULT_SIGNING_KEY, VAULT_SIGNING_CERT and VAULT_TRUST_ROOTS
    settings = make_settings(
        tmp_path, signing_key=str(pki / "seal.key"), signing_cert=str(pki / "seal.pem"),
        trust_roots=str(pki / "trust-roots.pem"), agency_seals=f"tax-office={pki / 'seal.key'},{pki / 'seal.pem'}",
    )  # fmt: skip
    with vault_client(settings) as client:

        def token(user: str) -> dict[str, str]:
            form = {"grant_type": "urn:citizen-vault:dev-user", "username": user}
            return {"Authorization": f"Bearer {client.post('/dev-idp/token', data=form).json()['access_token']}"}

        headers, officer = token("alice"), token("olga")
        created = client.post(
            "/api/v1/documents", content=MINIMAL,
            headers={**headers, "Content-Type": "application/pdf", "X-Document-Title": "Contract"},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        document = created.json()["id"]
        grant = {"agency": "tax-office", "permissions": ["view", "sign"], "expires_at": later(days=1)}
        assert client.post(f"/api/v1/documents/{document}/grants", headers=headers, json=grant).status_code == 201
        signed = client.post(f"/api/v1/documents/{document}/signatures", headers=officer, json={"level": "B-B"})
        assert signed.status_code == 201, signed.text
        report = client.get(f"/api/v1/documents/{document}/signatures", headers=headers)
    assert report.status_code == 200, report.text
    (signature,) = report.json()["signatures"]
    assert (signature["intact"], signature["valid"], signature["trusted"]) == (True, True, True)
    assert "Citizen Vault seal" in signature["signer"]["subject"]


def test_a_citizen_signs_with_the_compose_identity_ca_and_tsa(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    subprocess.run([sys.executable, str(REPO / "deploy" / "init_pki.py"), str(pki)], check=True, timeout=60)
    # the paths compose.yaml gives the identity CA, the vault's own TSA and the trust roots
    settings = make_settings(
        tmp_path, identity_ca_cert=str(pki / "identity-ca.pem"), identity_ca_key=str(pki / "identity-ca.key"),
        tsa_key=str(pki / "tsa.key"), tsa_cert=str(pki / "tsa.pem"), trust_roots=str(pki / "trust-roots.pem"),
    )  # fmt: skip
    with vault_client(settings) as client:
        alice = DevTokens(client.app)("alice")
        document = upload(client, alice, MINIMAL, title="Lease", media_type="application/pdf")["id"]
        signed = client.post(f"/api/v1/documents/{document}/signatures", headers=alice, json={})
        assert signed.status_code == 201, signed.text  # was 409: no identity CA, no TSA
        report = client.get(f"/api/v1/documents/{document}/signatures", headers=alice).json()
    (signature,) = report["signatures"]
    assert (signature["intact"], signature["valid"], signature["trusted"]) == (True, True, True), signature
    assert signature["pades_level"] == "B-T"
    assert "Citizen Vault identity CA" in signature["signer"]["issuer"]
    assert "Alice Citizen" in signature["signer"]["subject"]
    assert signature["timestamp"]["trusted"] is True
    assert "Citizen Vault time stamping authority" in signature["timestamp"]["authority"]
    # The compose PKI publishes no OCSP or CRL for the identity CA or the TSA: the revocation status stays
    # unknown, so the verdict is "cannot tell yet" (README, deploy section)
    assert (signature["revocation"], signature["verdict"]) == ("unknown", "indeterminate"), signature
