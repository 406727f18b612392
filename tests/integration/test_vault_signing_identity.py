"""The service's signing wired end to end: the development PKI it serves (`/dev-pki/`: CRL, OCSP, TSA), and a
citizen's signature in her own name (a fresh key and a ten-minute certificate per signature, logged)."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
from asn1crypto import algos, tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from litestar import Litestar
from litestar.testing import TestClient
from pyhanko.pdf_utils.reader import PdfFileReader

import auth
import signing
from tests.services.devpki_http import nss_db_trusting
from tests.services.pki import pdfsig
from tests.support.api import DOCS, DevTokens, subject
from tests.support.vault_app import LiveServer, bearer, make_settings, running_server
from tests.unit.test_settings_oidc import PRODUCTION
from vault.app import create_app, services_of
from vault.settings import Settings

PDF = (Path(__file__).resolve().parents[1] / "data" / "pdf" / "minimal.pdf").read_bytes()


def _dev_pki(settings: Settings) -> signing.DevPki:
    return signing.DevPki(settings.resolved_data_dir / "dev-pki")


def test_the_service_serves_its_development_pki(client: TestClient[Litestar], settings: Settings) -> None:
    pki = _dev_pki(settings)
    root = pki.certificate("root")
    crl = client.get("/dev-pki/crl/root.crl")
    assert (crl.status_code, crl.headers["content-type"]) == (200, "application/pkix-crl")
    assert x509.load_der_x509_crl(crl.content).is_signature_valid(root.public_key())  # type: ignore[arg-type]
    ca = client.get("/dev-pki/ca/identity.cer")
    assert x509.load_der_x509_certificate(ca.content) == pki.certificate("identity")

    seal, issuing = pki.certificate("seal"), pki.certificate("issuing")
    request = ocsp.OCSPRequestBuilder().add_certificate(seal, issuing, hashes.SHA1()).build()
    answer = client.post(
        "/dev-pki/ocsp/issuing",
        content=request.public_bytes(serialization.Encoding.DER),
        headers={"Content-Type": "application/ocsp-request"},
    )
    assert answer.headers["content-type"] == "application/ocsp-response"
    assert ocsp.load_der_ocsp_response(answer.content).certificate_status == ocsp.OCSPCertStatus.GOOD

    digest = hashlib.sha256(b"something worth proving").digest()
    imprint = tsp.MessageImprint(
        {"hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}), "hashed_message": digest}
    )
    req = tsp.TimeStampReq({"version": 1, "message_imprint": imprint, "nonce": 42, "cert_req": True})
    stamped = client.post("/dev-pki/tsa", content=req.dump(), headers={"Content-Type": "application/timestamp-query"})
    assert stamped.headers["content-type"] == "application/timestamp-reply"
    reply = tsp.TimeStampResp.load(stamped.content)
    assert reply["status"]["status"].native == "granted"
    info = reply["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
    assert info["message_imprint"]["hashed_message"].native == digest

    # certificates point relying parties at the service's own responders, under its public URL
    assert pki.base_url == f"{settings.resolved_public_url}/dev-pki"
    assert client.get("/dev-pki/nothing-here").status_code == 404
    assert client.get("/dev-pki/tsa").status_code == 405
    assert client.post("/dev-pki/tsa", content=b"x" * (64 * 1024 + 1)).status_code == 413


def test_production_never_mounts_the_development_pki(tmp_path: Path) -> None:
    production = Settings(_env_file=None, **{**PRODUCTION, "data_dir": tmp_path / "var"})  # type: ignore[call-arg]
    development = make_settings(tmp_path)
    paths = [route.path for route in create_app(production).routes]
    assert not [path for path in paths if path.startswith("/dev-pki")]
    assert [path for path in (r.path for r in create_app(development).routes) if path.startswith("/dev-pki")]


def _signer_certificate(pdf: bytes) -> x509.Certificate:
    signature = PdfFileReader(BytesIO(pdf)).embedded_regular_signatures[-1]
    return x509.load_der_x509_certificate(signature.signer_cert.dump())


def _sign(http: httpx.Client, token: dict[str, str], **options: Any) -> tuple[str, bytes]:
    doc = http.post(
        DOCS,
        content=PDF,
        headers={
            **token,
            "Content-Type": "application/pdf",
            "X-Document-Title": "Lease",
            "X-Document-Kind": "contract",
        },
    ).json()
    signed = http.post(f"{DOCS}/{doc['id']}/signatures", json=options, headers=token)
    assert signed.status_code == 201, signed.text
    return doc["id"], http.get(f"{DOCS}/{doc['id']}/content", headers=token).content


def _audit_entries(live: LiveServer, http: httpx.Client, action: str, count: int) -> list[dict[str, Any]]:
    auditor = bearer(services_of(live.app).dev_idp.issue_access_token("audrey"))  # type: ignore[union-attr]
    deadline = time.monotonic() + 20
    while True:
        entries = http.get("/api/v1/audit/entries", params={"action": action}, headers=auditor).json()
        if len(entries) >= count or time.monotonic() > deadline:
            return [entry["record"] for entry in entries]
        time.sleep(0.2)  # the integrator sequences queued entries within a second


def test_a_citizens_b_lt_signature_names_her_and_is_logged(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, database_url)
    with running_server(settings) as live, live.client() as http:
        tokens = DevTokens(live.app)
        alice = tokens("alice")
        first_id, first = _sign(http, alice, level="B-LT", reason="I agree")
        _, second = _sign(http, alice)  # the default level: B-T, the deployment has a TSA

        report = http.get(f"{DOCS}/{first_id}/signatures", headers=alice).json()
        (sig,) = report["signatures"]
        assert (sig["intact"], sig["valid"], sig["trusted"]) == (True, True, True), sig
        assert sig["pades_level"] == "B-LT", sig
        assert (sig["verdict"], sig["ades"]["indication"]) == ("passed", "PASSED"), sig  # our verdict and ETSI's
        # no VAULT_TSA_URL: the development PKI's TSA timestamped it, and its OCSP answers (fetched from the
        # service itself over HTTP) are embedded for the whole chain (B-LT)
        assert "Time Stamping Authority" in sig["timestamp"]["authority"], sig["timestamp"]
        assert sig["timestamp"]["trusted"] is True

        certificates = [_signer_certificate(pdf) for pdf in (first, second)]
        issuer = services_of(live.app).settings.resolved_issuer
        for cert in certificates:
            assert cert.subject.rfc4514_string() == "CN=Alice Citizen"
            assert cert.not_valid_after_utc - cert.not_valid_before_utc <= dt.timedelta(minutes=10)
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            assert san.get_values_for_type(x509.UniformResourceIdentifier) == [f"{issuer}#{subject('alice')}"]
            assert cert.issuer == _dev_pki(services_of(live.app).settings).certificate("identity").subject
        keys = {
            c.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
            for c in certificates
        }
        assert len(keys) == 2  # a fresh key per signature

        # each certificate's SHA-256 is in the audit log, where an auditor finds it
        logged = _audit_entries(live, http, "certificate.issue", 2)
        fingerprints = {hashlib.sha256(c.public_bytes(serialization.Encoding.DER)).hexdigest() for c in certificates}
        assert {entry["details"]["certificate_sha256"] for entry in logged} == fingerprints
        # the development provider's assurance (none) is recorded as it says, in the log and the certificates
        assert [entry["details"]["acr"] for entry in logged] == [auth.DEV_ACR] * 2
        assert {signing.identity_of(cert).acr for cert in certificates} == {auth.DEV_ACR}

        # poppler reads the signature as valid and naming the citizen
        signed_file = tmp_path / "signed.pdf"
        signed_file.write_bytes(first)
        nssdb = nss_db_trusting(_dev_pki(services_of(live.app).settings).root_cert_path, tmp_path / "nss")
        output = pdfsig(signed_file, nssdb)
        assert "Signature Validation: Signature is Valid." in output, output
        assert "Signer Certificate Common Name: Alice Citizen" in output, output


def _signature(report: dict[str, Any]) -> dict[str, Any]:
    (signature,) = (s for s in report["signatures"] if s["kind"] == "signature")
    return signature


def test_a_citizens_b_lta_signature_on_the_embedded_defaults_passes_before_and_after_renewal(
    tmp_path: Path, database_url: str
) -> None:
    # No VAULT_TSA_URL, no trust-root files, revocation fetching off when verifying: the embedded defaults. A
    # margin longer than the development TSA certificate's life makes the document due for renewal at once.
    settings = make_settings(tmp_path, database_url, lta_renewal_margin_days=20 * 365)
    with running_server(settings) as live, live.client() as http:
        alice = DevTokens(live.app)("alice")
        doc_id, signed = _sign(http, alice, level="B-LTA", reason="I agree")

        sig = _signature(http.get(f"{DOCS}/{doc_id}/signatures", headers=alice).json())
        assert (sig["pades_level"], sig["revocation"]) == ("B-LTA", "good"), sig
        assert (sig["verdict"], sig["ades"]["indication"], sig["ades"]["process"]) == (
            "passed",
            "PASSED",
            "long_term",
        ), sig
        assert sig["problems"] == [], sig

        signed_file = tmp_path / "signed.pdf"
        signed_file.write_bytes(signed)
        nssdb = nss_db_trusting(_dev_pki(services_of(live.app).settings).root_cert_path, tmp_path / "nss")
        output = pdfsig(signed_file, nssdb)
        assert "Signature Validation: Signature is Valid." in output, output
        assert "Signer Certificate Common Name: Alice Citizen" in output, output

        # the renewal job adds a second document timestamp; the signature and both timestamps still pass
        assert live.call(services_of(live.app).archival.run) == 1
        renewed = http.get(f"{DOCS}/{doc_id}/content", headers=alice).content
        assert renewed.startswith(signed)
        report = http.get(f"{DOCS}/{doc_id}/signatures", headers=alice).json()
        sig = _signature(report)
        assert (sig["verdict"], sig["ades"]["indication"], sig["pades_level"]) == ("passed", "PASSED", "B-LTA"), sig
        stamps = [s for s in report["signatures"] if s["kind"] == "document_timestamp"]
        assert [(s["verdict"], s["revocation"]) for s in stamps] == [("passed", "good")] * 2, stamps
