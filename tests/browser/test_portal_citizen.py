"""A citizen in Chromium: sign in, upload a PDF with the progress bar, share it by link, read the access log."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.browser.conftest import Auditor, activate, new_context
from tests.support.vault_app import LiveServer

MINIMAL = (Path(__file__).resolve().parents[1] / "data" / "pdf" / "minimal.pdf").read_bytes()


def big_pdf(size: int) -> bytes:
    """A PDF of about `size` bytes (padding in a comment after the header)."""
    return MINIMAL[:9] + b"%" + b"x" * (size - len(MINIMAL)) + b"\n" + MINIMAL[9:]


def test_citizen_uploads_shares_and_reads_the_access_log(browser: Browser, portal: LiveServer, audit: Auditor) -> None:
    context = new_context(browser)
    page = audit.watch(context.new_page())
    page.goto(portal.url + "/documents")  # not signed in: off to sign-in, then back here
    page.get_by_role("button", name="bob").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your documents")
    audit(page, "documents empty")

    page.get_by_role("button", name="Upload a document").click()
    audit(page, "upload form")
    page.get_by_label("Title").fill("Diploma 2026")
    page.get_by_label("Kind").select_option("diploma")
    data = big_pdf(20 * 1024 * 1024)
    chosen = {"name": "diploma.pdf", "mimeType": "application/pdf", "buffer": data}
    page.get_by_label("File").set_input_files(files=[chosen])
    # a citizen's uplink, not loopback: the upload takes seconds, so the progress bar is there to be looked at
    throttle = context.new_cdp_session(page)
    throttle.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 4 * 1024 * 1024},
    )
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.get_by_role("button", name="Cancel")).to_be_visible()  # the upload runs in the page
    page.wait_for_function("document.querySelector('progress').value > 0")  # the bar moves as bytes leave
    audit(page, "upload in progress")
    expect(page.get_by_role("heading", level=1)).to_have_text("Diploma 2026", timeout=120_000)
    throttle.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    expect(page.locator(".summary-list")).to_contain_text("21\u00a0MB")
    audit(page, "document page")

    page.get_by_label("Downloads allowed").fill("2")
    activate(page.get_by_role("button", name="Create the link"))  # below the PDF preview
    link = page.get_by_label("Share link").input_value()
    assert "/s/" in link
    audit(page, "document page with a new link")

    stranger = new_context(browser, accept_downloads=True).new_page()
    stranger.goto(link)
    with stranger.expect_download() as download:
        stranger.get_by_role("button", name="Download the document").click()
    assert Path(download.value.path()).read_bytes() == data
    stranger.context.close()

    page.goto(portal.url + "/")
    page.get_by_role("link", name="Who looked at your documents").click()
    entries = page.locator(".access-log__item")
    expect(entries.first).to_contain_text("Someone with a share link")
    expect(entries.first).to_contain_text("downloaded through a share link")
    expect(entries.first).to_contain_text("Diploma 2026")
    audit(page, "access log")

    page.goto(portal.url + "/documents")
    expect(page.get_by_role("link", name="Diploma 2026")).to_be_visible()
    audit(page, "documents list")
    context.close()
