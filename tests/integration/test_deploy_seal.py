"""The seal and trust root that compose's one-shot PKI step writes (deploy/init_pki.py) sign and verify: registered
as an agency's seal, a B-B seal made with them on a citizen's document reads intact, valid and trusted through the
API."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from pyhanko.pdf_utils.reader import PdfFileReader

import signing
from tests.services._proc import free_port
from tests.support.api import DevTokens, later, upload
from tests.support.vault_app import make_settings, running_server, vault_client
from vault.settings import Settings

REPO = Path(__file__).resolve().parents[2]
MINIMAL = (REPO / "tests" / "data" / "pdf" / "minimal.pdf").read_bytes()


@pytest.mark.parametrize(("level", "verdict"), [("B-B", "indeterminate"), ("B-LT", "passed")])
def test_the_compose_seal_signs_documents_the_vault_trusts(tmp_path: Path, level: str, verdict: str) -> None:
    pki = _compose_pki(tmp_path, "https://vault.example")
    # the paths compose.yaml gives VAULT_SIGNING_KEY, VAULT_SIGNING_CERT and VAULT_TRUST_ROOTS (and the TSA, CRLs)
    settings = _compose_settings(
        tmp_path, pki, public_url="https://vault.example", signing_key=str(pki / "seal.key"),
        signing_cert=str(pki / "seal.pem"), agency_seals=f"tax-office={pki / 'seal.key'},{pki / 'seal.pem'}",
        signing_fetch_revocation=True,  # the seal's check finds the compose CA's CRL at hand, fetches nothing
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
        signed = client.post(f"/api/v1/documents/{document}/signatures", headers=officer, json={"level": level})
        assert signed.status_code == 201, signed.text
        report = client.get(f"/api/v1/documents/{document}/signatures", headers=headers)
    assert report.status_code == 200, report.text
    (signature,) = report.json()["signatures"]
    assert (signature["intact"], signature["valid"], signature["trusted"]) == (True, True, True)
    assert "Citizen Vault seal" in signature["signer"]["subject"]
    # B-LT embeds the compose CA's CRL, which the seal's certificate names; B-B embeds nothing to tell by
    assert (signature["pades_level"], signature["verdict"]) == (level, verdict), signature


def _compose_pki(tmp_path: Path, public_url: str) -> Path:
    pki = tmp_path / "pki"
    # the pki step as compose runs it: VAULT_PUBLIC_URL decides where the TSA's and seal's certificates say the
    # compose CA's CRL is published
    env = {**os.environ, "VAULT_PUBLIC_URL": public_url}
    subprocess.run([sys.executable, str(REPO / "deploy" / "init_pki.py"), str(pki)], check=True, timeout=60, env=env)
    return pki


def _compose_settings(tmp_path: Path, pki: Path, **overrides: Any) -> Settings:
    # the paths compose.yaml gives the identity CA, the vault's own TSA, the trust roots and the published CRLs
    return make_settings(
        tmp_path, identity_ca_cert=str(pki / "identity-ca.pem"), identity_ca_key=str(pki / "identity-ca.key"),
        tsa_key=str(pki / "tsa.key"), tsa_cert=str(pki / "tsa.pem"), trust_roots=str(pki / "trust-roots.pem"),
        published_crls=str(pki / "compose-ca.crl"), **overrides,
    )  # fmt: skip


def _signer_certificate(pdf: bytes) -> x509.Certificate:
    signature = PdfFileReader(BytesIO(pdf)).embedded_regular_signatures[-1]
    return x509.load_der_x509_certificate(signature.signer_cert.dump())


@pytest.mark.parametrize(
    ("level", "verdict", "revocation"),
    [
        # B-LT embeds the identity CA's CRL and the compose CA's (for the TSA): it passes without fetching
        ("B-LT", "passed", "good"),
        # B-LTA adds a document timestamp by the same TSA over the embedded data: passes too
        ("B-LTA", "passed", "good"),
        # B-T embeds no revocation data and this verifier does not fetch: it cannot tell yet
        ("B-T", "indeterminate", "unknown"),
    ],
)
def test_a_citizen_signs_with_the_compose_identity_ca_and_tsa(
    tmp_path: Path, level: str, verdict: str, revocation: str
) -> None:
    public_url = "https://vault.example"
    pki = _compose_pki(tmp_path, public_url)
    # signing_fetch_revocation as in production: the published CRLs are at hand, nothing is fetched from the
    # (unreachable) public URL
    settings = _compose_settings(
        tmp_path, pki, public_url=public_url, verify_fetch_revocation=False, signing_fetch_revocation=True
    )
    with vault_client(settings) as client:
        alice = DevTokens(client.app)("alice")
        document = upload(client, alice, MINIMAL, title="Lease", media_type="application/pdf")["id"]
        signed = client.post(f"/api/v1/documents/{document}/signatures", headers=alice, json={"level": level})
        assert signed.status_code == 201, signed.text  # was 409: no identity CA, no TSA
        report = client.get(f"/api/v1/documents/{document}/signatures", headers=alice).json()
        content = client.get(f"/api/v1/documents/{document}/content", headers=alice).content
    signature, *stamps = report["signatures"]
    assert signature["kind"] != "document_timestamp", signature
    # B-LTA's document timestamp is reported beside the signature, and passes too
    assert [(s["kind"], s["verdict"]) for s in stamps] == [("document_timestamp", "passed")] * (level == "B-LTA")
    assert (signature["intact"], signature["valid"], signature["trusted"]) == (True, True, True), signature
    assert signature["pades_level"] == level
    assert "Citizen Vault identity CA" in signature["signer"]["issuer"]
    assert "Alice Citizen" in signature["signer"]["subject"]
    assert signature["timestamp"]["trusted"] is True
    assert "Citizen Vault time stamping authority" in signature["timestamp"]["authority"]
    assert (signature["revocation"], signature["verdict"]) == (revocation, verdict), signature
    if verdict == "passed":
        assert signature["ades"]["indication"] == "PASSED", signature
    if verdict == "passed":  # long after the embedded CRLs' nextUpdate: validated at its proof of existence
        verifier = signing.PdfVerifier([(pki / "trust-roots.pem").read_bytes()])
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=40)
        (again, *_) = asyncio.run(verifier.verify(content, validation_time=later)).signatures
        assert (again.verdict, again.revocation) == ("passed", "good"), again.verdict_reason
    # the citizen's certificate names the CRL the vault publishes for its identity CA
    points = _signer_certificate(content).extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert [name.value for point in points for name in point.full_name or ()] == [f"{public_url}/pki/identity-ca.crl"]


def test_the_vault_publishes_its_identity_ca_crl_and_the_compose_ca_crl(tmp_path: Path) -> None:
    pki = _compose_pki(tmp_path, "http://127.0.0.1:8000")
    identity_ca = x509.load_pem_x509_certificate((pki / "identity-ca.pem").read_bytes())
    compose_ca = x509.load_pem_x509_certificate((pki / "ca.pem").read_bytes())
    answers, started = [], dt.datetime.now(dt.UTC)
    for instance in ("one", "two"):  # two instances of one deployment (their own data directories)
        settings = _compose_settings(tmp_path / instance, pki)
        with vault_client(settings, signed_in=False) as client:
            answers.append(client.get("/pki/identity-ca.crl"))
            composed = client.get("/pki/compose-ca.crl")
            assert client.get("/pki/nothing.crl").status_code == 404
            assert client.get("/pki/..%2Fca.key").status_code == 404
    for answer in answers:
        assert (answer.status_code, answer.headers["content-type"]) == (200, "application/pkix-crl")
        crl = x509.load_der_x509_crl(answer.content)
        assert crl.is_signature_valid(identity_ca.public_key())  # type: ignore[arg-type]
        assert crl.issuer == identity_ca.subject
        assert crl.next_update_utc is not None
        assert crl.next_update_utc > dt.datetime.now(dt.UTC)
        max_age = int(answer.headers["cache-control"].removeprefix("public, max-age="))
        assert 0 <= max_age <= (crl.next_update_utc - dt.datetime.now(dt.UTC)).total_seconds()
    # one period (an hour), one list: both instances serve the same bytes (deterministic ECDSA with a key file);
    # should the test straddle the hour, the second list is the next period's
    first, second = (x509.load_der_x509_crl(answer.content) for answer in answers)
    if started.hour == dt.datetime.now(dt.UTC).hour:
        assert answers[0].content == answers[1].content
    else:
        assert second.last_update_utc - first.last_update_utc == dt.timedelta(hours=1)
    assert composed.status_code == 200
    assert composed.headers["cache-control"] == "public, max-age=3600"  # a year-long file: an hour in caches
    assert x509.load_der_x509_crl(composed.content).is_signature_valid(compose_ca.public_key())  # type: ignore[arg-type]
    tsa = x509.load_pem_x509_certificate((pki / "tsa.pem").read_bytes())
    points = tsa.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert [n.value for p in points for n in p.full_name or ()] == ["http://127.0.0.1:8000/pki/compose-ca.crl"]


def test_a_verifier_that_fetches_gets_the_published_crls_of_a_b_t_signature(tmp_path: Path) -> None:
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    pki = _compose_pki(tmp_path, public_url)
    settings = _compose_settings(tmp_path, pki, public_url=public_url, verify_fetch_revocation=True)
    with running_server(settings, port=port) as live, live.client() as http:
        alice = DevTokens(live.app)("alice")
        created = http.post(
            "/api/v1/documents", content=MINIMAL,
            headers={**alice, "Content-Type": "application/pdf", "X-Document-Title": "Lease"},
        )  # fmt: skip
        document = created.json()["id"]
        signed = http.post(f"/api/v1/documents/{document}/signatures", headers=alice, json={"level": "B-T"})
        assert signed.status_code == 201, signed.text
        report = http.get(f"/api/v1/documents/{document}/signatures", headers=alice).json()
    (signature,) = report["signatures"]
    # nothing embedded: the identity CA's and the compose CA's CRLs were fetched from /pki/ of the running vault
    assert (signature["revocation"], signature["verdict"]) == ("good", "passed"), signature
