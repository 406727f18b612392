"""Issuance on SQLite and PostgreSQL: an agency pushes a signed PDF into a citizen's vault, verified on ingest."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

import auth
import signing
from tests.support.api import MINIMAL, DevTokens, assert_problem, later, sign_with, subject
from tests.support.vault_app import make_settings
from vault.settings import Settings

DOCS = "/api/v1/documents"


@pytest.fixture
def agency_pki(tmp_path: Path) -> signing.DevPki:
    return signing.ensure_dev_pki(tmp_path / "agency-pki", "Tax Office Seal")


@pytest.fixture
def settings(tmp_path: Path, database_url: str, agency_pki: signing.DevPki) -> Settings:
    # the tax office's registered seal is the agency PKI's seal (configured like a production deployment)
    seal = f"tax-office={agency_pki.seal_key_path},{agency_pki.seal_cert_path},{agency_pki.issuing_cert_path}"
    return make_settings(tmp_path, database_url, trust_roots=str(agency_pki.root_cert_path), agency_seals=seal)


def issue(client: TestClient[Litestar], officer: dict[str, str], citizen: str, pdf: bytes, **headers: str):
    return client.post(
        f"/api/v1/citizens/{subject(citizen) if citizen in auth.DEMO_USERS else citizen}/documents",
        content=pdf,
        headers={
            **officer,
            "Content-Type": headers.pop("content_type", "application/pdf"),
            "X-Document-Title": "Tax assessment 2026",
            "X-Document-Kind": "tax-assessment",
        },
    )


def test_signed_pdf_lands_in_the_citizens_vault_marked_issued(
    client: TestClient[Litestar], as_user: DevTokens, agency_pki: signing.DevPki
) -> None:
    pdf = sign_with(agency_pki)
    response = issue(client, as_user("olga"), "alice", pdf)
    assert response.status_code == 201, response.text
    issued = response.json()
    assert (issued["issued"], issued["issuer"], issued["kind"]) == (True, "tax-office", "tax-assessment")

    mine = client.get(DOCS, headers=as_user("alice")).json()["items"]
    assert [(d["id"], d["issued"], d["issuer"]) for d in mine] == [(issued["id"], True, "tax-office")]
    assert client.get(f"{DOCS}/{issued['id']}/content", headers=as_user("alice")).content == pdf
    versions = client.get(f"{DOCS}/{issued['id']}/versions", headers=as_user("alice")).json()
    assert [v["origin"] for v in versions] == ["issued"]
    # the agency that issued it holds no grant: it cannot read the citizen's copy
    assert client.get(f"{DOCS}/{issued['id']}", headers=as_user("olga")).status_code == 404
    assert client.get(DOCS, headers=as_user("bob")).json()["items"] == []
    log = client.get("/api/v1/me/access-log", headers=as_user("alice")).json()["items"]
    (entry,) = [e for e in log if e["action"] == "document.issue"]
    assert (entry["actor"]["agency"], entry["document_id"]) == ("tax-office", issued["id"])


def test_citizen_cannot_alter_an_issued_document_but_can_share_and_erase_it(
    client: TestClient[Litestar], as_user: DevTokens, agency_pki: signing.DevPki
) -> None:
    issued = issue(client, as_user("olga"), "alice", sign_with(agency_pki)).json()
    altered = client.post(
        f"{DOCS}/{issued['id']}/versions",
        content=b"%PDF-1.7 forged",
        headers={**as_user("alice"), "Content-Type": "application/pdf"},
    )
    assert altered.status_code == 409, altered.text
    body = {"agency": "city-registry", "permissions": ["view"], "expires_at": later(days=1)}
    assert client.post(f"{DOCS}/{issued['id']}/grants", json=body, headers=as_user("alice")).status_code == 201
    assert client.get(f"{DOCS}/{issued['id']}", headers=as_user("oscar")).json()["issuer"] == "tax-office"
    assert client.delete(f"{DOCS}/{issued['id']}", headers=as_user("alice")).status_code == 204


@pytest.mark.parametrize(
    ("make_pdf", "status"),
    [
        (lambda pki, rogue: MINIMAL.read_bytes(), 422),  # no signature at all
        (lambda pki, rogue: sign_with(rogue), 422),  # signed, but not by a trusted root
        (lambda pki, rogue: sign_with(pki).replace(b"test document", b"TEST document", 1), 422),  # tampered
        (lambda pki, rogue: b"%PDF-1.7\nnot really a pdf", 422),
        (lambda pki, rogue: b"plain text", 422),
    ],
    ids=["unsigned", "untrusted", "tampered", "garbage-pdf", "not-pdf"],
)
def test_documents_without_a_valid_trusted_signature_are_refused(
    client: TestClient[Litestar], as_user: DevTokens, agency_pki: signing.DevPki, tmp_path: Path, make_pdf, status: int
) -> None:
    rogue = signing.ensure_dev_pki(tmp_path / "rogue-pki", "Rogue Seal")
    response = issue(client, as_user("olga"), "alice", make_pdf(agency_pki, rogue))
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get(DOCS, headers=as_user("alice")).json()["items"] == []


@pytest.mark.parametrize(("user", "status"), [("alice", 403), ("audrey", 403)])
def test_only_agency_officers_issue(
    client: TestClient[Litestar], as_user: DevTokens, agency_pki: signing.DevPki, user: str, status: int
) -> None:
    assert issue(client, as_user(user), "bob", sign_with(agency_pki)).status_code == status
    assert client.get(DOCS, headers=as_user("bob")).json()["items"] == []


def test_wrong_content_type_is_415(
    client: TestClient[Litestar], as_user: DevTokens, agency_pki: signing.DevPki
) -> None:
    response = issue(client, as_user("olga"), "alice", sign_with(agency_pki), content_type="image/png")
    body = assert_problem(response, 415)
    assert "application/pdf" in body["detail"]
    assert client.get(DOCS, headers=as_user("alice")).json()["items"] == []  # nothing stored


def test_issuing_to_somebody_who_never_signed_in_is_422_and_creates_no_vault(
    client: TestClient[Litestar], as_user: DevTokens, agency_pki: signing.DevPki
) -> None:
    response = issue(client, as_user("olga"), "made-up-subject", sign_with(agency_pki))
    body = assert_problem(response, 422)
    assert "never signed in" in body["detail"]


def test_a_document_sealed_by_anyone_but_the_issuing_agency_is_refused(
    client: TestClient[Litestar], as_user: DevTokens, agency_pki: signing.DevPki
) -> None:
    """The forged "tax clearance": a citizen has a PDF sealed by another agency (the city registry's own seal,
    trusted) or signs it herself; the tax office cannot issue either as its own."""
    forged = upload_pdf(client, as_user("bob"), MINIMAL.read_bytes())
    by_registry = client.post(f"{DOCS}/{forged}/signatures", json={"level": "B-B"}, headers=as_user("oscar"))
    assert by_registry.status_code == 404  # the registry holds no grant on bob's document: it cannot seal it
    grant = {"agency": "city-registry", "permissions": ["view", "sign"], "expires_at": later(days=1)}
    assert client.post(f"{DOCS}/{forged}/grants", json=grant, headers=as_user("bob")).status_code == 201
    sealed = client.post(f"{DOCS}/{forged}/signatures", json={"level": "B-B"}, headers=as_user("oscar"))
    assert sealed.status_code == 201, sealed.text
    pdf = client.get(f"{DOCS}/{forged}/content", headers=as_user("bob")).content
    report = client.post("/api/v1/verify", content=pdf, headers={"Content-Type": "application/pdf"}).json()
    assert report["signatures"][0]["trusted"] is True  # a good seal, only not the tax office's
    body = assert_problem(issue(client, as_user("olga"), "alice", pdf), 422)
    assert "issuing agency's own registered seal" in body["detail"]

    personal = upload_pdf(client, as_user("bob"), MINIMAL.read_bytes())
    assert client.post(f"{DOCS}/{personal}/signatures", json={}, headers=as_user("bob")).status_code == 201
    pdf = client.get(f"{DOCS}/{personal}/content", headers=as_user("bob")).content
    assert_problem(issue(client, as_user("olga"), "alice", pdf), 422)
    assert client.get(DOCS, headers=as_user("alice")).json()["items"] == []

    # the tax office's own seal, made through the API, is accepted
    own = upload_pdf(client, as_user("bob"), MINIMAL.read_bytes())
    grant["agency"] = "tax-office"
    assert client.post(f"{DOCS}/{own}/grants", json=grant, headers=as_user("bob")).status_code == 201
    assert client.post(f"{DOCS}/{own}/signatures", json={"level": "B-B"}, headers=as_user("olga")).is_success
    pdf = client.get(f"{DOCS}/{own}/content", headers=as_user("bob")).content
    assert issue(client, as_user("olga"), "alice", pdf).status_code == 201


def upload_pdf(client: TestClient[Litestar], headers: dict[str, str], pdf: bytes) -> str:
    response = client.post(
        DOCS,
        content=pdf,
        headers={
            **headers,
            "Content-Type": "application/pdf",
            "X-Document-Title": "Tax clearance",
            "X-Document-Kind": "tax-clearance",
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])
