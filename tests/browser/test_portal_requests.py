"""An officer and a citizen in two Chromium profiles: the officer asks, the citizen shares, the officer reads the
document with its signature checked; the officer issues a signed PDF into the citizen's vault."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

import signing
from tests.browser.conftest import Auditor, activate, new_context
from tests.support.api import sign_with
from tests.support.vault_app import LiveServer
from vault.app import services_of

MINIMAL = (Path(__file__).resolve().parents[1] / "data" / "pdf" / "minimal.pdf").read_bytes()


def sealed_pdf(server: LiveServer) -> bytes:
    """minimal.pdf signed with the development PKI the service trusts (outside Playwright's event loop)."""
    pki = signing.ensure_dev_pki(services_of(server.app).settings.resolved_data_dir / "dev-pki")
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(sign_with, pki).result()


def sealed_by_agency(server: LiveServer, officer: str, agency: str) -> bytes:
    """minimal.pdf sealed with `agency`'s own registered seal, the way an agency seals a draft: a citizen shares
    it with the agency to sign, its officer seals it through the API (issuance accepts no other seal)."""
    dev = services_of(server.app).dev_idp
    assert dev is not None

    def as_user(user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {dev.issue_access_token(user)}"}

    with server.client() as client:
        kind = {"Content-Type": "application/pdf", "X-Document-Title": "Draft", "X-Document-Kind": "certificate"}
        draft = client.post("/api/v1/documents", content=MINIMAL, headers={**as_user("bob"), **kind})
        assert draft.status_code == 201, draft.text
        path = f"/api/v1/documents/{draft.json()['id']}"
        until = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        grant = {"agency": agency, "permissions": ["view", "sign"], "expires_at": until}
        assert client.post(f"{path}/grants", json=grant, headers=as_user("bob")).status_code == 201
        sealed = client.post(f"{path}/signatures", json={"level": "B-B"}, headers=as_user(officer))
        assert sealed.status_code == 201, sealed.text
        return client.get(f"{path}/content", headers=as_user("bob")).content


def signed_in(browser: Browser, server: LiveServer, user: str, audit: Auditor) -> Page:
    page = audit.watch(new_context(browser).new_page())
    page.goto(server.url + "/login")
    page.get_by_role("button", name=user).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")
    return page


def test_an_officer_asks_and_the_citizen_shares(browser: Browser, portal: LiveServer, audit: Auditor) -> None:
    sealed = sealed_pdf(portal)
    citizen = signed_in(browser, portal, "alice", audit)  # signing in puts alice in the directory
    citizen.goto(portal.url + "/documents/new")
    citizen.get_by_label("Title").fill("Tax return 2025")
    citizen.get_by_label("Kind").select_option("tax-assessment")
    citizen.get_by_label("File").set_input_files(
        files=[{"name": "tax.pdf", "mimeType": "application/pdf", "buffer": sealed}]
    )
    citizen.get_by_role("button", name="Upload", exact=True).click()
    expect(citizen.get_by_role("heading", level=1)).to_have_text("Tax return 2025")

    officer = signed_in(browser, portal, "olga", audit)
    officer.get_by_role("link", name="Ask a citizen for documents").click()
    audit(officer, "officer new request")
    officer.get_by_role("button", name="Send the request").click()  # empty: every field is explained
    expect(officer.locator(".error-summary")).to_contain_text("Enter the citizen's user name.")
    audit(officer, "officer new request with errors")
    officer.get_by_label("Find the citizen").fill("ali")  # the directory: people who have signed in
    officer.get_by_role("button", name="Search").click()
    audit(officer, "officer new request citizen found")
    officer.get_by_role("link", name="Ask Alice Citizen").click()
    expect(officer.get_by_label("Citizen", exact=True)).to_have_value("alice")
    officer.get_by_label("Tax assessment").check()
    officer.get_by_label("Purpose").fill("Income tax assessment 2025")
    officer.get_by_label("Legal basis").fill("Tax Code s. 93")
    officer.get_by_role("button", name="Send the request").click()
    expect(officer.locator(".request").first).to_contain_text("Waiting for the citizen")
    audit(officer, "officer requests")

    citizen.goto(portal.url + "/")
    citizen.get_by_role("link", name="Requests for your documents").click()
    request = citizen.locator(".request").first
    expect(request).to_contain_text("From tax-office")
    expect(request).to_contain_text("Tax Code s. 93")
    expect(request.get_by_label("Tax return 2025")).to_be_checked()  # documents of the kinds asked for
    audit(citizen, "citizen requests inbox")
    request.get_by_role("button", name="Share the chosen documents").click()
    expect(citizen.locator(".request").first).to_contain_text("Approved")

    officer.reload()
    answered = officer.locator(".request").first
    expect(answered).to_contain_text("Answered")
    expect(answered.locator(".summary-list__row", has_text="Documents shared").locator("dd")).to_have_text("1")
    audit(officer, "officer requests answered")

    answered.get_by_role("link", name="Read shared document 1").click()
    expect(officer.get_by_role("heading", level=1)).to_have_text("Tax return 2025")
    audit(officer, "officer shared document")
    with officer.expect_download() as download:
        officer.get_by_role("button", name="Download").click()
    assert Path(download.value.path()).read_bytes() == sealed
    activate(officer.get_by_role("button", name="Check the signatures"))  # below the PDF preview
    verdict = officer.locator(".verdict").first
    # the first check starts the workers; a B-B seal without revocation data is intact, trusted, not yet a pass
    expect(verdict).to_contain_text("Intact, from a trusted authority", timeout=30_000)
    expect(verdict.locator(".tag")).to_have_text("Check")
    audit(officer, "officer shared document signatures")
    officer.get_by_role("link", name="Documents shared with your agency").click()
    expect(officer.locator(".shared-document").first).to_contain_text("Tax return 2025")
    audit(officer, "officer shared documents")

    citizen.goto(portal.url + "/access-log")
    expect(citizen.locator(".access-log")).to_contain_text("tax-office")  # alice sees the officer's reads
    officer.context.close()
    citizen.context.close()


def test_an_officer_issues_a_signed_pdf_into_a_citizens_vault(
    browser: Browser, portal: LiveServer, audit: Auditor
) -> None:
    sealed = sealed_by_agency(portal, "oscar", "city-registry")  # oscar issues for the city registry
    signed_in(browser, portal, "bob", audit).context.close()  # bob is in the directory once he signed in
    officer = signed_in(browser, portal, "oscar", audit)
    officer.get_by_role("link", name="Issue a signed document").click()
    audit(officer, "officer issue find citizen")
    officer.get_by_label("Find the citizen").fill("bob")
    officer.get_by_role("button", name="Search").click()
    expect(officer.get_by_label("Bob Citizen")).to_be_checked()  # the only match is chosen
    officer.get_by_label("Title").fill("Residence certificate")
    officer.get_by_label("Kind").select_option("certificate")
    officer.get_by_label("Signed PDF").set_input_files(
        files=[{"name": "unsigned.pdf", "mimeType": "application/pdf", "buffer": MINIMAL}]
    )
    officer.get_by_role("button", name="Issue the document").click()
    expect(officer.locator(".error-summary")).to_contain_text("must carry a valid signature")
    expect(officer.get_by_label("Title")).to_have_value("Residence certificate")  # nothing typed is lost
    audit(officer, "officer issue refused")
    officer.get_by_label("Signed PDF").set_input_files(
        files=[{"name": "residence.pdf", "mimeType": "application/pdf", "buffer": sealed}]
    )
    officer.get_by_role("button", name="Issue the document").click()
    expect(officer.get_by_role("status")).to_have_text("The document is in the vault of bob.")
    audit(officer, "officer issued")
    officer.context.close()

    citizen = signed_in(browser, portal, "bob", audit)
    citizen.goto(portal.url + "/documents")
    row = citizen.get_by_role("row", name="Residence certificate")
    expect(row).to_contain_text("Issued")
    citizen.context.close()
