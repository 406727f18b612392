"""Keyboard only: an officer asks for a document, the citizen shares it and the officer reads it, with Tab, Enter
and Space (and typing) — never a mouse click — and every element the keyboard reaches on a portal page shows that
it has the focus."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Auditor, new_context
from tests.browser.test_portal_requests import MINIMAL
from tests.support.api import DevTokens
from tests.support.vault_app import LiveServer

MAX_TABS = 60

# What the focused element looks like: a visible focus indicator is an outline that is not transparent, a box
# shadow, or the yellow focus background (GOV.UK style: links and buttons turn #ffdd00).
FOCUS_STYLE = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const s = getComputedStyle(el);
    const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0
        && !s.outlineColor.endsWith(', 0)') && s.outlineColor !== 'transparent';
    return {
        tag: el.tagName.toLowerCase(),
        name: (el.getAttribute('aria-label') || el.innerText || el.value || el.id || '').trim().slice(0, 80),
        id: el.id,
        visible: outline || s.boxShadow !== 'none' || s.backgroundColor === 'rgb(255, 221, 0)',
    };
}"""


def focused(page: Page) -> dict[str, Any]:
    found: dict[str, Any] | None = page.evaluate(FOCUS_STYLE)
    assert found is not None, "nothing has the keyboard focus"
    return found


def tab_to(page: Page, name: str, *, check_focus: bool = True) -> None:
    """Press Tab until the element whose text (or id) starts with `name` has the focus; every element passed on
    the way must show its focus."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        now = focused(page)
        if check_focus:
            assert now["visible"], f"no visible focus on {now} at {page.url}"
        if now["name"].startswith(name) or now["id"] == name:
            return
    raise AssertionError(f"{name!r} not reached with Tab on {page.url}")


def keyboard_sign_in(browser: Browser, server: LiveServer, user: str) -> Page:
    page = new_context(browser).new_page()
    page.goto(server.url + "/")
    tab_to(page, "Sign in")
    page.keyboard.press("Enter")
    page.wait_for_url("**/dev-idp/**")
    page.wait_for_load_state("load")
    tab_to(page, user, check_focus=False)  # the development provider's page is not the portal's
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")
    return page


def test_an_officer_and_a_citizen_with_the_keyboard_only(browser: Browser, portal: LiveServer, audit: Auditor) -> None:
    alice = DevTokens(portal.app)("alice")
    with portal.client() as api:  # alice's document, put there through the API (a file chooser is not the point)
        stored = api.post(
            "/api/v1/documents",
            content=MINIMAL,
            headers={**alice, "Content-Type": "application/pdf", "X-Document-Title": "Diploma 2020"}
            | {"X-Document-Kind": "diploma"},
        )
        assert stored.status_code == 201, stored.text

    officer = keyboard_sign_in(browser, portal, "oscar")
    officer.keyboard.press("Tab")  # the first Tab reaches the skip link, which appears
    assert focused(officer)["name"] == "Skip to main content"
    expect(officer.locator(".skip-link")).to_be_in_viewport()
    officer.keyboard.press("Enter")
    expect(officer.locator("#main-content")).to_be_focused()
    tab_to(officer, "Ask a citizen for documents")
    officer.keyboard.press("Enter")
    expect(officer.get_by_role("heading", level=1)).to_have_text("Ask a citizen for documents")
    tab_to(officer, "citizen")
    officer.keyboard.type("alice")
    tab_to(officer, "kind-diploma")
    officer.keyboard.press("Space")
    tab_to(officer, "purpose")
    officer.keyboard.type("Recognition of a diploma")
    tab_to(officer, "legal_basis")
    officer.keyboard.type("Civil Registry Act s. 12")
    officer.keyboard.press("Enter")  # Enter in a text field sends the form
    expect(officer.locator(".request").first).to_contain_text("Waiting for the citizen")
    audit(officer, "keyboard officer request sent")

    citizen = keyboard_sign_in(browser, portal, "alice")
    tab_to(citizen, "Requests for your documents")
    citizen.keyboard.press("Enter")
    request = citizen.locator(".request", has_text="Recognition of a diploma")
    expect(request.get_by_label("Diploma 2020")).to_be_checked()  # of the kind asked for
    tab_to(citizen, "Share the chosen documents")
    citizen.keyboard.press("Enter")
    expect(citizen.locator(".request", has_text="Recognition of a diploma")).to_contain_text("Approved")
    citizen.context.close()

    officer.reload()
    tab_to(officer, "Read shared document 1")
    officer.keyboard.press("Enter")
    expect(officer.get_by_role("heading", level=1)).to_have_text("Diploma 2020")
    tab_to(officer, "Download")  # the download is reachable
    audit(officer, "keyboard officer reads")
    tab_to(officer, "Check the signatures")
    officer.keyboard.press("Enter")
    expect(officer.locator(".verdict")).to_contain_text("No signature", timeout=30_000)
    tab_to(officer, "Back to the document")

    # the check itself: with the portal's focus styles taken away, the same element shows no focus
    officer.add_style_tag(
        content="*:focus { outline: none !important; box-shadow: none !important; "
        "background: transparent !important; border-color: transparent !important; }"
    )
    assert focused(officer)["name"].startswith("Back to the document")
    assert not focused(officer)["visible"]
    officer.context.close()
