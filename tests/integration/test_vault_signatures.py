"""Signing vault PDFs through the API (citizens in their own name, agencies with their seal), reports, and
public verification."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.support.api import DOCS, DevTokens, assert_problem, later, upload
from tests.support.vault_app import make_settings, run_in_app, settle_audit, vault_client
from vault.app import services_of

PDF_DIR = Path(__file__).resolve().parents[1] / "data" / "pdf"
MINIMAL = (PDF_DIR / "minimal.pdf").read_bytes()


def _sign(client: TestClient[Litestar], headers: dict[str, str], doc_id: str, **options: object):  # type: ignore[no-untyped-def]
    return client.post(f"{DOCS}/{doc_id}/signatures", headers=headers, json=options)


def test_citizen_signs_a_pdf_into_a_new_version_and_the_report_is_valid(
    client: TestClient[Litestar], as_user: DevTokens
) -> None:
    doc = upload(client, as_user("alice"), MINIMAL, title="Contract", media_type="application/pdf")
    signed = _sign(
        client,
        as_user("alice"),
        doc["id"],
        level="B-B",
        reason="I agree",
        visible={"page": 0, "box": [50, 50, 250, 110]},
    )
    assert signed.status_code == 201, signed.text
    assert signed.json()["version"] == 2
    original = client.get(f"{DOCS}/{doc['id']}/content?version=1", headers=as_user("alice"))
    assert original.content == MINIMAL  # never overwritten
    versions = client.get(f"{DOCS}/{doc['id']}/versions", headers=as_user("alice")).json()
    assert [v["origin"] for v in versions] == ["upload", "signature"]

    report = client.get(f"{DOCS}/{doc['id']}/signatures", headers=as_user("alice"))
    assert report.status_code == 200, report.text
    signatures = report.json()["signatures"]
    assert len(signatures) == 1
    sig = signatures[0]
    assert (sig["intact"], sig["valid"], sig["trusted"]) == (True, True, True)
    assert sig["kind"] == "signature"
    assert len(sig["signer"]["sha256_fingerprint"].replace(":", "")) == 64
    assert sig["signer"]["subject"] == "Common Name: Alice Citizen"  # a citizen signs in her own name
    assert "bottom_line" in sig
    assert sig["ades"]["indication"] in {"PASSED", "INDETERMINATE"}

    # the same bytes verify publicly, without login, and nothing is stored
    pdf = client.get(f"{DOCS}/{doc['id']}/content", headers=as_user("alice")).content
    public = client.post("/api/v1/verify", content=pdf, headers={"Content-Type": "application/pdf"})
    assert public.status_code == 200, public.text
    assert public.json()["signatures"][0]["intact"] is True
    assert public.json()["etsi_reports"] is None  # only on request
    etsi = client.post("/api/v1/verify?etsi=true", content=pdf, headers={"Content-Type": "application/pdf"})
    [xml] = etsi.json()["etsi_reports"]
    assert "urn:etsi:019102:mainindication" in xml
    with_xml = client.get(f"{DOCS}/{doc['id']}/signatures", params={"etsi": "true"}, headers=as_user("alice"))
    assert len(with_xml.json()["etsi_reports"]) == 1
    assert len(client.get(DOCS, headers=as_user("alice")).json()["items"]) == 1


def test_an_unsigned_pdf_has_an_empty_report(client: TestClient[Litestar]) -> None:
    response = client.post("/api/v1/verify", content=MINIMAL, headers={"Content-Type": "application/pdf"})
    assert response.status_code == 200
    assert response.json()["signatures"] == []


@pytest.mark.parametrize(
    ("body", "media_type", "status"),
    [
        (b"%PDF-1.7\n garbage that is not a PDF", "application/pdf", 422),
        (MINIMAL[: len(MINIMAL) // 2], "application/pdf", 422),
        (MINIMAL, "text/plain", 415),
        ((PDF_DIR / "bomb.pdf").read_bytes(), "application/pdf", 200),
    ],
    ids=["garbage", "truncated", "wrong-type", "decompression-bomb"],
)
def test_public_verification_of_bad_input_is_a_4xx_or_a_report(
    client: TestClient[Litestar], body: bytes, media_type: str, status: int
) -> None:
    response = client.post("/api/v1/verify", content=body, headers={"Content-Type": media_type})
    if status == 200 and response.status_code == 422:
        status = 422  # a bomb may be refused outright; both are acceptable, a 500 or a hang is not
    assert response.status_code == status, response.text
    if status != 200:
        assert_problem(response, status)


def test_signing_needs_a_pdf_and_a_known_level(client: TestClient[Litestar], as_user: DevTokens) -> None:
    text_doc = upload(client, as_user("alice"), b"plain text")
    assert_problem(_sign(client, as_user("alice"), text_doc["id"], level="B-B"), 422)
    pdf_doc = upload(client, as_user("alice"), MINIMAL, media_type="application/pdf")
    assert _sign(client, as_user("alice"), pdf_doc["id"], level="B-X").status_code == 422
    assert _sign(client, as_user("alice"), pdf_doc["id"], owner_id="someone").status_code == 422
    assert client.get(f"{DOCS}/{pdf_doc['id']}", headers=as_user("alice")).json()["version"] == 1
    # the embedded defaults have a TSA (the development PKI's): B-T works without configuration
    assert _sign(client, as_user("alice"), pdf_doc["id"], level="B-T").status_code == 201


def test_others_cannot_sign_or_read_reports(client: TestClient[Litestar], as_user: DevTokens) -> None:
    doc = upload(client, as_user("alice"), MINIMAL, media_type="application/pdf")
    assert_problem(_sign(client, as_user("bob"), doc["id"]), 404)
    assert_problem(client.get(f"{DOCS}/{doc['id']}/signatures", headers=as_user("bob")), 404)
    assert_problem(_sign(client, as_user("audrey"), doc["id"]), 403)


def test_vault_verify_cli_checks_a_signed_file_offline(
    client: TestClient[Litestar], as_user: DevTokens, settings, tmp_path: Path
) -> None:
    doc = upload(client, as_user("alice"), MINIMAL, media_type="application/pdf")
    assert _sign(client, as_user("alice"), doc["id"]).status_code == 201
    signed = tmp_path / "signed.pdf"
    signed.write_bytes(client.get(f"{DOCS}/{doc['id']}/content", headers=as_user("alice")).content)
    root = settings.resolved_data_dir / "dev-pki" / "root-ca.cert.pem"
    ok = subprocess.run(
        [sys.executable, "-m", "vault.cli", "verify", str(signed), "--trust", str(root), "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    # intact, valid and trusted, but a B-B signature carries no revocation data and nothing was fetched: the
    # verdict is "cannot tell yet" (indeterminate), which is not a pass
    report = json.loads(ok.stdout)
    assert report["signatures"][0]["intact"] is True
    assert report["verdict"] == "indeterminate", report["verdict_reason"]
    assert ok.returncode == 1
    tampered = tmp_path / "tampered.pdf"
    data = bytearray(signed.read_bytes())
    index = data.find(b"/Contents", 0) - 40
    data[index] ^= 0x01
    tampered.write_bytes(bytes(data))
    bad = subprocess.run(
        [sys.executable, "-m", "vault.cli", "verify", str(tampered), "--trust", str(root)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert bad.returncode == 1
    assert "fail" in bad.stdout.lower()


def test_a_full_signing_pool_answers_503_with_retry_after_before_issuing_anything(  # citizens and agency seals
    tmp_path: Path, database_url: str
) -> None:
    settings = make_settings(tmp_path, database_url, sign_workers=1, sign_queue=2)
    with vault_client(settings) as client:
        as_user = DevTokens(client.app)
        doc = upload(client, as_user("alice"), MINIMAL, title="Contract", media_type="application/pdf")
        notice = upload(client, as_user("alice"), MINIMAL, title="Notice", media_type="application/pdf")
        grant = {"agency": "tax-office", "permissions": ["view", "sign"], "expires_at": later(days=1)}
        assert client.post(f"{DOCS}/{notice['id']}/grants", json=grant, headers=as_user("alice")).status_code == 201
        pool = services_of(client.app).signing_pool
        held = contextlib.ExitStack()

        async def take_every_place() -> None:
            for _ in range(pool.capacity):
                held.enter_context(pool.admit())

        async def give_it_back() -> None:
            held.close()

        assert pool.capacity == 3  # one worker, two waiting
        run_in_app(client, take_every_place)
        refused = _sign(client, as_user("alice"), doc["id"], level="B-T")
        seal_refused = _sign(client, as_user("olga"), notice["id"], level="B-T")
        run_in_app(client, give_it_back)

        assert_problem(seal_refused, 503)
        assert seal_refused.headers["Retry-After"] == "1"
        sealed = _sign(client, as_user("olga"), notice["id"], level="B-T")  # sealed in a worker
        assert sealed.status_code == 201, sealed.text

        assert_problem(refused, 503)
        assert refused.headers["Retry-After"] == "1"
        assert "busy" in refused.json()["detail"]
        versions = client.get(f"{DOCS}/{doc['id']}/versions", headers=as_user("alice")).json()
        assert [v["origin"] for v in versions] == ["upload"]
        settle_audit(client)
        auditor = as_user("audrey")
        issued = client.get("/api/v1/audit/entries", params={"action": "certificate.issue"}, headers=auditor)
        assert issued.json() == []  # refused before a certificate was issued or logged

        signed = _sign(client, as_user("alice"), doc["id"], level="B-T")  # places are free again
        assert signed.status_code == 201, signed.text
        settle_audit(client)
        issued = client.get("/api/v1/audit/entries", params={"action": "certificate.issue"}, headers=auditor)
        assert len(issued.json()) == 1
        assert pool.in_flight == 0
