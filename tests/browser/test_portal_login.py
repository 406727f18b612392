"""Signing in and out of the portal in Chromium: through the built-in development provider (one click) and
through the npm oidc-provider (its login and consent pages, then RP-initiated logout)."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Auditor, activate, new_context
from tests.services.oidc_provider import OidcProvider
from tests.support.vault_app import LiveServer

COOKIE = "vault-session"
MINIMAL = (Path(__file__).resolve().parents[1] / "data" / "pdf" / "minimal.pdf").read_bytes()


def session_cookie(page: Page) -> dict[str, object]:
    cookies = [c for c in page.context.cookies() if c["name"] == COOKIE]
    assert len(cookies) == 1, page.context.cookies()
    return dict(cookies[0])


def assert_signed_out_with(server: LiveServer, cookie_value: object) -> None:
    """A request carrying an old session cookie is treated as signed out."""
    with httpx.Client(base_url=server.url, cookies={COOKIE: str(cookie_value)}) as client:
        page = client.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "Hello," not in page.text
    assert 'href="/login' in page.text


def assert_every_page_has_the_csp(audit: Auditor, base_url: str) -> None:
    documents = audit.portal_documents(base_url)
    assert documents, "the journey saw no portal page"
    for response in documents:
        policy = response.headers.get("content-security-policy", "")
        assert "default-src 'none'" in policy, response.url
        assert "frame-ancestors 'none'" in policy, response.url
        assert "unsafe-inline" not in policy, response.url


def test_sign_in_and_out_through_the_development_provider(browser: Browser, portal: LiveServer, audit: Auditor) -> None:
    context = new_context(browser)
    page = audit.watch(context.new_page())
    page.goto(portal.url + "/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Keep your documents safe")
    audit(page, "home signed out")
    before = session_cookie(page)  # the anonymous session that binds the CSRF tokens

    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    audit(page, "development provider sign in")
    page.get_by_role("button", name="alice").click()  # one click: the demo users are listed

    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Alice Citizen")
    audit(page, "home signed in")
    after = session_cookie(page)
    assert after["value"] != before["value"], "the session id must change at sign-in"
    assert after["httpOnly"] is True
    assert after["sameSite"] == "Lax"
    assert after["secure"] is False  # plain http on loopback; https gets Secure and __Host- (integration tests)
    assert after["path"] == "/"
    assert_signed_out_with(portal, before["value"])  # the pre-login id is worth nothing

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_contain_text("You have signed out")
    assert_signed_out_with(portal, after["value"])  # the old cookie is refused after logout
    assert_every_page_has_the_csp(audit, portal.url)
    context.close()


def test_sign_in_and_out_through_the_npm_oidc_provider(
    browser: Browser, oidc_portal: LiveServer, oidc_provider: OidcProvider, audit: Auditor
) -> None:
    context = new_context(browser)
    page = audit.watch(context.new_page())
    page.goto(oidc_portal.url + "/")
    before = session_cookie(page)
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url(f"{oidc_provider.issuer}/**")
    page.locator("input[name=login]").fill("citizen-a")
    page.locator("input[name=password]").fill("any password")
    page.locator("button[type=submit]").click()
    page.locator("button[type=submit]").click()  # consent
    page.wait_for_url(oidc_portal.url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, citizen-a")
    expect(page.get_by_text("Citizen", exact=True)).to_be_visible()  # the role from the access token
    audit(page, "home signed in via oidc-provider")
    after = session_cookie(page)
    assert after["value"] != before["value"]

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{oidc_provider.issuer}/session/end**")  # RP-initiated logout at the provider
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(oidc_portal.url + "/?signed_out=1**")
    expect(page.get_by_role("status")).to_contain_text("You have signed out")
    assert_signed_out_with(oidc_portal, after["value"])
    assert_every_page_has_the_csp(audit, oidc_portal.url)
    context.close()


def test_a_cross_site_form_post_without_the_token_is_refused(browser: Browser, portal: LiveServer) -> None:
    context = new_context(browser)
    page = context.new_page()
    page.goto(portal.url + "/login")
    page.get_by_role("button", name="bob").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Bob Citizen")

    # another site's page posts a sign-out form to the portal
    attacker = context.new_page()
    attacker.set_content(
        f'<form method="post" action="{portal.url}/logout"><button type="submit">Win a prize</button></form>'
    )
    with attacker.expect_navigation():
        attacker.get_by_role("button", name="Win a prize").click()
    expect(attacker.get_by_role("heading", level=1)).to_have_text("This form has expired")

    page.reload()  # still signed in: the forged post changed nothing
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Bob Citizen")
    context.close()


def test_pages_raise_no_csp_violation(browser: Browser, portal: LiveServer) -> None:
    """Under the real policy (no bypass), the portal's own pages load without a single CSP report."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    reports: list[str] = []
    page.on("console", lambda m: reports.append(m.text) if "Content Security Policy" in m.text else None)
    for path in ("/", "/verify", "/no-such-page", "/?lang=fr"):
        page.goto(portal.url + path)
        page.wait_for_load_state("load")
        assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith("system-ui")  # CSS applied
    assert reports == []
    context.close()


def _sign_in_at_the_provider(page: Page, portal: LiveServer, provider: OidcProvider, login: str) -> None:
    page.goto(portal.url + "/")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{provider.issuer}/**")
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password")
    page.locator("button[type=submit]").click()
    page.locator("button[type=submit]").click()  # consent
    page.wait_for_url(portal.url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {login}")


def test_each_role_works_through_the_npm_oidc_provider(
    browser: Browser, oidc_portal: LiveServer, oidc_provider: OidcProvider, audit: Auditor
) -> None:
    """The citizen uploads and shares by link, the officer and the auditor reach their pages: roles and agency
    come from the external provider's access token, not from the development provider."""
    citizen = audit.watch(new_context(browser).new_page())
    _sign_in_at_the_provider(citizen, oidc_portal, oidc_provider, "citizen-b")
    citizen.goto(oidc_portal.url + "/documents/new")
    citizen.get_by_label("Title").fill("Residence permit")
    citizen.get_by_label("Kind").select_option("residence-permit")
    pdf = {"name": "permit.pdf", "mimeType": "application/pdf", "buffer": MINIMAL}
    citizen.get_by_label("File").set_input_files(files=[pdf])
    citizen.get_by_role("button", name="Upload", exact=True).click()
    expect(citizen.get_by_role("heading", level=1)).to_have_text("Residence permit")
    activate(citizen.get_by_role("button", name="Create the link"))  # below the PDF preview
    assert "/s/" in citizen.get_by_label("Share link").input_value()
    audit(citizen, "oidc-provider citizen document with a link")

    officer = audit.watch(new_context(browser).new_page())
    _sign_in_at_the_provider(officer, oidc_portal, oidc_provider, "agency-x")
    officer.goto(oidc_portal.url + "/agency/documents")
    expect(officer.get_by_role("heading", level=1)).to_have_text("Documents shared with your agency")
    audit(officer, "oidc-provider officer shared documents")

    auditor = audit.watch(new_context(browser).new_page())
    _sign_in_at_the_provider(auditor, oidc_portal, oidc_provider, "auditor")
    auditor.goto(oidc_portal.url + "/auditor")
    expect(auditor.get_by_role("heading", level=1)).to_have_text("The audit log")
    expect(auditor.locator("main")).to_contain_text("document.upload")
    audit(auditor, "oidc-provider auditor log")
    for page in (citizen, officer, auditor):
        page.context.close()
