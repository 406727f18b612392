"""A citizen in Chromium, beyond the upload: the vault's search, a document's page (preview in a sandboxed frame,
signatures in words), signing with a visible stamp, sharing with an agency from the directory, the account page
(the archive, and erasure with a typed confirmation)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Auditor, activate, new_context, screenshot_dir
from tests.support.vault_app import LiveServer

MINIMAL = (Path(__file__).resolve().parents[1] / "data" / "pdf" / "minimal.pdf").read_bytes()


def png(width: int, height: int) -> bytes:
    """A small PNG: a blue field with a yellow band (made here, no image library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b""
    for y in range(height):
        colour = b"\xff\xdd\x00" if height // 3 <= y < 2 * height // 3 else b"\x1d\x70\xb8"
        rows += b"\x00" + colour * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def pdf_viewer_settles(page: Page, name: str) -> None:
    """Give Chromium's PDF viewer (its own process, out of the page's reach) time to draw, and photograph the
    frame as a person sees it: full-page screenshots catch the viewer's frame before it has drawn (dark grey)."""
    frame = page.locator("iframe.preview")
    frame.scroll_into_view_if_needed()
    page.wait_for_timeout(2000)
    frame.screenshot(path=str(screenshot_dir() / f"{name}-frame-desktop.png"))


def upload(page: Page, base: str, title: str, kind: str, name: str, mime: str, data: bytes) -> None:
    page.goto(base + "/documents/new")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Kind").select_option(kind)
    page.get_by_label("File").set_input_files(files=[{"name": name, "mimeType": mime, "buffer": data}])
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title, timeout=60_000)


def test_citizen_searches_previews_signs_shares_erases(browser: Browser, portal: LiveServer, audit: Auditor) -> None:
    officer = new_context(browser).new_page()  # the tax office has signed in once: the directory knows it
    officer.goto(portal.url + "/login")
    officer.get_by_role("button", name="olga").click()
    expect(officer.get_by_role("heading", level=1)).to_contain_text("Hello")
    officer.context.close()

    context = new_context(browser, accept_downloads=True)
    page = audit.watch(context.new_page())
    page.goto(portal.url + "/documents")
    page.get_by_role("button", name="alice").click()
    upload(page, portal.url, "Employment contract", "contract", "contract.pdf", "application/pdf", MINIMAL)
    upload(page, portal.url, "Diploma scan", "diploma", "diploma.png", "image/png", png(480, 300))
    upload(page, portal.url, "Payslip March", "payslip", "march.pdf", "application/pdf", MINIMAL)

    # the vault: search by title, filter by kind (a GET form: the search is in the address)
    page.goto(portal.url + "/documents")
    page.get_by_label("Title contains").fill("CONTRACT")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name="Employment contract")).to_be_visible()
    expect(page.get_by_role("link", name="Payslip March")).to_have_count(0)
    assert "q=CONTRACT" in page.url
    audit(page, "documents searched")
    page.get_by_label("Title contains").fill("")
    page.get_by_label("Kind").select_option("diploma")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    page.get_by_label("Kind").select_option("passport")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No document matches your search.")).to_be_visible()
    audit(page, "documents search without result")
    page.get_by_role("link", name="Show all documents").click()
    expect(page.locator("tbody tr")).to_have_count(3)

    # an image: previewed in the sandboxed frame
    page.get_by_role("link", name="Diploma scan").click()
    frame = page.frame_locator("iframe.preview")
    expect(frame.locator("img")).to_be_visible()
    page.locator("iframe.preview").scroll_into_view_if_needed()
    audit(page, "image document page")

    # a PDF: its signatures in words, then signed with a visible stamp
    page.goto(portal.url + "/documents")
    page.get_by_role("link", name="Employment contract").click()
    expect(page.get_by_role("heading", name="Signatures")).to_be_visible()
    pdf_viewer_settles(page, "pdf-preview")
    audit(page, "pdf document page")
    activate(page.get_by_role("button", name="Check the signatures"))
    expect(page.get_by_text("This PDF has no signatures")).to_be_visible(timeout=30_000)
    audit(page, "pdf signatures unsigned")
    page.get_by_role("link", name="Back to the document").click()
    page.get_by_role("button", name="Sign this document").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign this document")
    audit(page, "sign form")
    page.get_by_label("Reason (optional)").fill("I accept the offer")
    page.get_by_label("Page", exact=True).fill("1")
    page.get_by_label("Where on the page").select_option("bottom-left")
    page.get_by_role("button", name="Sign", exact=True).click()
    expect(page.get_by_text("You signed the document.")).to_be_visible()
    expect(page.locator(".verdict").first).to_contain_text("Signed by")
    audit(page, "pdf signatures after signing")
    page.get_by_role("link", name="Back to the document").click()
    expect(page.locator("tbody").first).to_contain_text("Signed")  # the new version
    pdf_viewer_settles(page, "pdf-preview-signed")
    audit(page, "pdf document page signed")

    # share it with the tax office, picked from the directory
    activate(page.get_by_role("button", name="Share with an agency or a person"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Share with an agency or a person")
    audit(page, "share page")
    page.get_by_label("Find an agency or a person").fill("tax")
    page.get_by_role("button", name="Find").click()
    page.get_by_label("tax-office (agency)").check()
    page.get_by_label("Purpose (optional)").fill("Income tax 2026")
    page.get_by_label("For how long").select_option("30")
    audit(page, "share page with directory results")
    page.get_by_role("button", name="Share the document").click()
    expect(page.get_by_text("The document is shared.")).to_be_visible()
    grants = page.locator("#grants + table")
    expect(grants).to_contain_text("Agency: tax-office")
    expect(grants).to_contain_text("Active")
    audit(page, "pdf document page shared")
    activate(grants.get_by_role("button", name="Withdraw"))  # below the PDF preview
    expect(page.locator("#grants + table")).to_contain_text("Withdrawn")

    # the account: everything as one zip, then erasure with a typed confirmation
    page.goto(portal.url + "/")
    page.get_by_role("link", name="Your account: download everything, or erase it").click()
    audit(page, "account page")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download all my documents (zip)").click()
    with zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes())) as zipped:
        assert sorted(zipped.namelist()) == ["contract.pdf", "diploma.png", "march.pdf"]
        assert zipped.read("march.pdf") == MINIMAL
    page.get_by_label("To confirm, type “erase my account”").fill("erase")
    page.get_by_role("button", name="Erase my account").click()
    expect(page.locator(".error-summary")).to_be_visible()
    audit(page, "account erase refused")
    page.get_by_label("To confirm, type “erase my account”").fill("erase my account")
    page.get_by_role("button", name="Erase my account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account is erased")
    expect(page.get_by_text("3 documents were erased.")).to_be_visible()
    audit(page, "account erased")
    page.goto(portal.url + "/documents")
    expect(page.get_by_role("button", name="alice")).to_be_visible()  # signed out: the sign-in page
    context.close()


def test_the_preview_and_the_pages_raise_no_csp_violation(browser: Browser, portal: LiveServer) -> None:
    """Under the real policies (no bypass): the document page frames its preview, which loads under its own."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    reports: list[str] = []
    page.on("console", lambda m: reports.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(portal.url + "/documents")
    page.get_by_role("button", name="bob").click()
    upload(page, portal.url, "Bob's badge", "identity", "badge.png", "image/png", png(200, 120))
    expect(page.frame_locator("iframe.preview").locator("img")).to_be_visible()
    for path in ("/documents?q=badge", "/account"):
        page.goto(portal.url + path)
        page.wait_for_load_state("load")
    assert reports == []
    context.close()
