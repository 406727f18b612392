"""The agency officer's pages over HTTP, on SQLite and PostgreSQL: read what a citizen shared (with the signatures
checked and told in words), download it, and issue a signed PDF into a citizen's vault."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

import signing
from tests.support.api import MINIMAL, DevTokens, answer, ask, sign_with, upload
from tests.support.portal import csrf_token, heading, sign_in
from tests.support.vault_app import make_settings
from vault.settings import Settings

HTML = {"Accept": "text/html"}


@pytest.fixture
def agency_pki(tmp_path: Path) -> signing.DevPki:
    return signing.ensure_dev_pki(tmp_path / "agency-pki", "Tax Office Seal")


@pytest.fixture
def settings(tmp_path: Path, database_url: str, agency_pki: signing.DevPki) -> Settings:
    # the tax office's registered seal is the agency PKI's seal: issuance accepts only the issuer's own seal
    seal = f"tax-office={agency_pki.seal_key_path},{agency_pki.seal_cert_path},{agency_pki.issuing_cert_path}"
    return make_settings(tmp_path, database_url, trust_roots=str(agency_pki.root_cert_path), agency_seals=seal)


def shared_by_alice(client: TestClient[Litestar], as_user: DevTokens, pdf: bytes) -> str:
    """Alice uploads `pdf`, olga asks for certificates, alice approves: the document's id."""
    doc = upload(client, as_user("alice"), pdf, title="Seal certificate", media_type="application/pdf")
    request = ask(client, as_user("olga"))
    assert answer(client, as_user("alice"), request["id"], [doc["id"]]).status_code == 200
    return str(doc["id"])


def test_the_officer_reads_a_shared_document_with_its_signatures_in_words(
    client: TestClient[Litestar], as_user: DevTokens, agency_pki: signing.DevPki
) -> None:
    pdf = sign_with(agency_pki)
    document_id = shared_by_alice(client, as_user, pdf)
    sign_in(client, "olga")
    listed = client.get("/agency/documents", headers=HTML)
    assert heading(listed) == "Documents shared with your agency"
    assert f'href="/agency/documents/{document_id}">Seal certificate</a>' in listed.text
    assert "income tax assessment 2026" in listed.text

    requests = client.get("/requests", headers=HTML)
    assert f'href="/agency/documents/{document_id}"' in requests.text  # from the answered request
    assert "To Alice Citizen (alice)" in requests.text  # the directory's name, not the subject the API answers

    page = client.get(f"/agency/documents/{document_id}", headers=HTML)
    assert page.status_code == 200
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert heading(page) == "Seal certificate"
    assert "View, Download" in page.text
    assert "verdict--" not in page.text  # the document's page never waits for a verification
    assert f'href="/agency/documents/{document_id}/signatures"' in page.text
    checked = client.get(f"/agency/documents/{document_id}/signatures", headers=HTML)
    assert checked.status_code == 200
    # a B-B seal with no revocation data: intact and trusted, but not a pass until revocation is known
    assert "verdict--amber" in checked.text
    assert "Intact, from a trusted authority, but whether the certificate was revoked is not known." in checked.text
    assert "Tax Office Seal" in checked.text
    download = client.get(f"/agency/documents/{document_id}/download")
    assert download.status_code == 200
    assert download.content == pdf

    french = client.get(f"/agency/documents/{document_id}", headers={**HTML, "Accept-Language": "fr"})
    assert "Documents partagés avec votre organisme" in french.text

    log = client.get("/api/v1/me/access-log", headers=as_user("alice")).json()["items"]
    actions = {e["action"] for e in log if e.get("document_id") == document_id and e["actor"].get("agency")}
    assert {"document.read", "document.verify", "document.download"} <= actions  # alice sees every read


def test_other_agencies_and_citizens_cannot_read_it(
    client: TestClient[Litestar], as_user: DevTokens, agency_pki: signing.DevPki
) -> None:
    document_id = shared_by_alice(client, as_user, sign_with(agency_pki))
    sign_in(client, "oscar")
    assert "Seal certificate" not in client.get("/agency/documents", headers=HTML).text
    assert client.get(f"/agency/documents/{document_id}", headers=HTML).status_code == 404
    assert client.get(f"/agency/documents/{document_id}/download", headers=HTML).status_code == 404
    assert client.get(f"/agency/documents/{document_id}/signatures", headers=HTML).status_code == 404
    client.cookies.clear()
    sign_in(client, "bob")
    assert client.get("/agency/documents", headers=HTML).status_code == 403
    assert client.get("/agency/issue", headers=HTML).status_code == 403


def test_the_request_form_finds_the_citizen_in_the_directory(client: TestClient[Litestar], as_user: DevTokens) -> None:
    client.get("/api/v1/me", headers=as_user("alice"))  # alice has signed in: she is in the directory
    sign_in(client, "olga")
    found = client.get("/requests/new", params={"q": "Alice"}, headers=HTML)
    assert 'href="/requests/new?q=Alice&amp;citizen=alice">Ask Alice Citizen' in found.text
    picked = client.get("/requests/new", params={"q": "Alice", "citizen": "alice"}, headers=HTML)
    assert 'id="citizen" name="citizen" type="text" value="alice"' in picked.text
    assert "Nobody in the directory matches" in client.get("/requests/new", params={"q": "zz"}, headers=HTML).text


def issue_form(client: TestClient[Litestar], query: str) -> str:
    page = client.get("/agency/issue", params={"q": query}, headers=HTML)
    assert page.status_code == 200
    return page.text


def post_issue(client: TestClient[Litestar], token: str, pdf: bytes, **fields: str):  # type: ignore[no-untyped-def]
    data = {"csrf_token": token, "q": "ali", "citizen": "alice", "title": "Tax assessment 2026"}
    data.update(kind="tax-assessment", **fields)
    return client.post(
        "/agency/issue",
        data=data,
        files={"file": ("assessment.pdf", pdf, "application/pdf")},
        headers=HTML,
        follow_redirects=False,
    )


def test_the_officer_issues_a_signed_pdf_to_a_citizen_picked_from_the_directory(
    client: TestClient[Litestar], as_user: DevTokens, agency_pki: signing.DevPki
) -> None:
    client.get("/api/v1/me", headers=as_user("alice"))  # alice has signed in: she is in the directory
    client.get("/api/v1/me", headers=as_user("bob"))
    sign_in(client, "olga")
    empty = client.get("/agency/issue", headers=HTML)
    assert heading(empty) == "Issue a signed document"
    assert 'type="file"' not in empty.text  # find the citizen first
    found = issue_form(client, "ali")
    assert re.search(r'type="radio" id="citizen-1" name="citizen" value="alice" checked', found)
    assert 'value="bob"' not in found
    assert "Nobody in the directory matches" in issue_form(client, "zorro")
    token = csrf_token(client.get("/", headers=HTML))

    refused = client.post("/agency/issue", files={"file": ("a.pdf", b"%PDF-", "application/pdf")}, headers=HTML)
    assert refused.status_code == 403  # no CSRF token
    unsigned = post_issue(client, token, MINIMAL.read_bytes())
    assert unsigned.status_code == 422
    assert "must carry a valid signature from a trusted authority" in unsigned.text
    stranger = post_issue(client, token, sign_with(agency_pki), citizen="mallory")
    assert stranger.status_code == 400
    assert "Choose the citizen from the directory." in stranger.text
    untitled = post_issue(client, token, sign_with(agency_pki), title="")
    assert untitled.status_code == 400
    assert "Enter a title of up to 200 characters." in untitled.text
    assert client.get("/api/v1/documents", headers=as_user("alice")).json()["items"] == []

    pdf = sign_with(agency_pki)
    issued = post_issue(client, token, pdf)
    assert issued.status_code == 303
    assert issued.headers["location"] == "/agency/issue?issued=alice"
    assert "The document is in the vault of alice." in client.get(issued.headers["location"], headers=HTML).text
    (mine,) = client.get("/api/v1/documents", headers=as_user("alice")).json()["items"]
    assert (mine["title"], mine["kind"], mine["issued"], mine["issuer"]) == (
        "Tax assessment 2026",
        "tax-assessment",
        True,
        "tax-office",
    )
    assert client.get(f"/api/v1/documents/{mine['id']}/content", headers=as_user("alice")).content == pdf


def test_a_pdf_that_cannot_be_checked_is_said_so(client: TestClient[Litestar], as_user: DevTokens) -> None:
    document_id = shared_by_alice(client, as_user, b"%PDF-1.7\nnot really a PDF\n%%EOF\n")
    sign_in(client, "olga")
    page = client.get(f"/agency/documents/{document_id}/signatures", headers=HTML)
    assert page.status_code == 200
    assert "could not be checked here" in page.text
    assert "verdict--" not in page.text
