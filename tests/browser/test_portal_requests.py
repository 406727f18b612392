"""An officer and a citizen in two Chromium profiles: the officer asks, the citizen shares, the officer sees it."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Auditor, new_context
from tests.support.vault_app import LiveServer

MINIMAL = (Path(__file__).resolve().parents[1] / "data" / "pdf" / "minimal.pdf").read_bytes()


def signed_in(browser: Browser, server: LiveServer, user: str, audit: Auditor) -> Page:
    page = audit.watch(new_context(browser).new_page())
    page.goto(server.url + "/login")
    page.get_by_role("button", name=user).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")
    return page


def test_an_officer_asks_and_the_citizen_shares(browser: Browser, portal: LiveServer, audit: Auditor) -> None:
    citizen = signed_in(browser, portal, "alice", audit)  # signing in puts alice in the directory
    citizen.goto(portal.url + "/documents/new")
    citizen.get_by_label("Title").fill("Tax return 2025")
    citizen.get_by_label("Kind").select_option("tax-assessment")
    citizen.get_by_label("File").set_input_files(
        files=[{"name": "tax.pdf", "mimeType": "application/pdf", "buffer": MINIMAL}]
    )
    citizen.get_by_role("button", name="Upload", exact=True).click()
    expect(citizen.get_by_role("heading", level=1)).to_have_text("Tax return 2025")

    officer = signed_in(browser, portal, "olga", audit)
    officer.get_by_role("link", name="Ask a citizen for documents").click()
    audit(officer, "officer new request")
    officer.get_by_role("button", name="Send the request").click()  # empty: every field is explained
    expect(officer.locator(".error-summary")).to_contain_text("Enter the citizen's user name.")
    audit(officer, "officer new request with errors")
    officer.get_by_label("Citizen", exact=True).fill("alice")
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
    officer.context.close()
    citizen.context.close()
