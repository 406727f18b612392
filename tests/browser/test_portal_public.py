"""The public pages in Chromium: checking a PDF's signatures, and a password-protected share link."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Auditor, new_context
from tests.support.vault_app import LiveServer
from vault.app import services_of

MINIMAL = (Path(__file__).resolve().parents[1] / "data" / "pdf" / "minimal.pdf").read_bytes()


def api(server: LiveServer, user: str) -> httpx.Client:
    dev = services_of(server.app).dev_idp
    assert dev is not None
    return server.client(headers={"Authorization": f"Bearer {dev.issue_access_token(user)}"})


def upload(client: httpx.Client, data: bytes, title: str, media_type: str) -> dict[str, Any]:
    headers = {"Content-Type": media_type, "X-Document-Title": title, "X-Document-Kind": "certificate"}
    response = client.post("/api/v1/documents", content=data, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def signed_pdf(server: LiveServer) -> bytes:
    with api(server, "alice") as alice:
        doc = upload(alice, MINIMAL, "Contract", "application/pdf")
        signed = alice.post(f"/api/v1/documents/{doc['id']}/signatures", json={"level": "B-LT", "reason": "I agree"})
        assert signed.status_code == 201, signed.text
        return alice.get(f"/api/v1/documents/{doc['id']}/content").content


def choose_pdf(page: Page, name: str, data: bytes) -> None:
    page.get_by_label("PDF file").set_input_files(files=[{"name": name, "mimeType": "application/pdf", "buffer": data}])


def test_a_visitor_checks_a_signed_pdf(browser: Browser, portal: LiveServer, audit: Auditor) -> None:
    pdf = signed_pdf(portal)
    context = new_context(browser)
    page = audit.watch(context.new_page())
    page.goto(portal.url + "/")
    page.get_by_role("link", name="check the signatures on a PDF").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check the signatures on a PDF")
    audit(page, "verify form")

    page.get_by_role("button", name="Check the signatures").click()  # nothing chosen yet
    expect(page.locator(".error-summary")).to_contain_text("Select a PDF file.")
    expect(page.locator(".error-summary")).to_be_focused()  # announced first
    audit(page, "verify form with an error")

    choose_pdf(page, "contract.pdf", pdf)
    page.get_by_role("button", name="Check the signatures").click()
    expect(page.get_by_role("heading", name="Results for contract.pdf")).to_be_visible()
    verdict = page.locator(".verdict").first
    expect(verdict.locator(".tag")).to_have_text("Valid")
    expect(verdict).to_contain_text("Alice Citizen")  # a citizen signs in her own name
    expect(verdict).to_contain_text("Only validation data was added after signing, which is normal.")  # B-LT
    expect(verdict).to_contain_text("The time is proven by a trusted timestamp.")
    expect(verdict).to_contain_text("the signature passes")
    audit(page, "verify result valid")

    choose_pdf(page, "contract.pdf", pdf)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the report (JSON)").click()
    assert download.value.suggested_filename == "verification-report.json"
    report = json.loads(Path(download.value.path()).read_text())
    assert report["signatures"][0]["intact"] is True

    tampered = pdf.replace(b"(Citizen Vault test document)", b"(Citizen Vault test d0cument)", 1)
    choose_pdf(page, "tampered.pdf", tampered)
    page.get_by_role("button", name="Check the signatures").click()
    expect(page.locator(".verdict .tag").first).to_have_text("Not valid")
    audit(page, "verify result tampered")

    page.get_by_role("link", name="Français").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vérifier les signatures d\u2019un PDF")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    audit(page, "verify form in french")
    context.close()


def link_downloads(server: LiveServer, link_id: str) -> int:
    with api(server, "alice") as alice:
        links = alice.get("/api/v1/links").json()
    return int(next(link["downloads"] for link in links if link["id"] == link_id))


def test_a_share_link_with_a_password(browser: Browser, portal: LiveServer, audit: Auditor) -> None:
    with api(portal, "alice") as alice:
        doc = upload(alice, b"Grades: all A", "Diploma 2026", "text/plain")
        expires = (datetime.now(UTC) + timedelta(days=2)).isoformat()
        body = {"expires_at": expires, "max_downloads": 3, "password": "correct horse"}
        created = alice.post(f"/api/v1/documents/{doc['id']}/links", json=body)
        assert created.status_code == 201, created.text
    link = created.json()
    context = new_context(browser, accept_downloads=True)
    page = audit.watch(context.new_page())

    page.goto(link["url"])
    expect(page.get_by_role("heading", level=1)).to_have_text("Diploma 2026")
    expect(page.get_by_text("Downloads left", exact=True)).to_be_visible()
    audit(page, "share link")
    for _ in range(5):  # a person (or a mail scanner) looking, again and again
        page.reload()
        assert page.request.head(link["url"]).status == 200
    assert link_downloads(portal, link["link"]["id"]) == 0

    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Download the document").click()
    expect(page.locator(".error-summary")).to_contain_text("The password is not correct.")
    audit(page, "share link wrong password")
    assert link_downloads(portal, link["link"]["id"]) == 0

    page.get_by_label("Password").fill("correct horse")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the document").click()
    assert Path(download.value.path()).read_bytes() == b"Grades: all A"
    assert link_downloads(portal, link["link"]["id"]) == 1  # only the download counted
    page.reload()
    left = page.locator(".summary-list__row", has=page.get_by_text("Downloads left", exact=True)).locator("dd")
    expect(left).to_have_text("2")
    context.close()
