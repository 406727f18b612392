"""The portal over HTTP, on SQLite and PostgreSQL: sessions, cookies, CSRF, headers, languages, error pages."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from tests.support.portal import csrf_token, heading, sign_in
from tests.support.vault_app import MovableClock, clock_of, make_settings, migrate, run_in_app
from vault.app import create_app, services_of
from vault.audit.models import AuditEntryRow, AuditQueueRow
from vault.background import Chores
from vault.web.login import safe_next

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
COOKIE = "vault-session"


def session_rows(client: TestClient[Litestar]) -> int:
    return run_in_app(client, services_of(client.app).web.sessions.count)


def signed_in_as(client: TestClient[Litestar]) -> str | None:
    page = client.get("/", headers=HTML)
    assert page.status_code == 200
    title = heading(page)
    return title.removeprefix("Hello, ") if title.startswith("Hello, ") else None


def test_sign_in_rotates_the_session_id_and_sign_out_deletes_the_session(client: TestClient[Litestar]) -> None:
    client.get("/", headers=HTML)
    anonymous = client.cookies[COOKIE]
    assert session_rows(client) == 0  # looking at pages stores nothing

    callback = sign_in(client, "alice", next_path="/verify")
    assert callback.status_code == 303
    assert callback.headers["location"] == "/verify"
    signed_in = client.cookies[COOKIE]
    assert signed_in != anonymous
    assert signed_in_as(client) == "Alice Citizen"
    assert session_rows(client) == 1  # the login transaction's row is gone, the session's row is new

    client.cookies.set(COOKIE, anonymous)
    assert signed_in_as(client) is None  # the pre-login id never becomes the session
    client.cookies.set(COOKIE, signed_in)

    token = csrf_token(client.get("/", headers=HTML))
    out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    assert out.headers["location"] == "/?signed_out=1"  # the development provider has no end-session endpoint
    assert 'vault-session=""' in out.headers["set-cookie"] or "Max-Age=0" in out.headers["set-cookie"]
    assert session_rows(client) == 0
    client.cookies.set(COOKIE, signed_in)  # a browser that kept the old cookie
    assert signed_in_as(client) is None


def test_the_callback_refuses_a_replayed_or_forged_answer(client: TestClient[Litestar]) -> None:
    callback = sign_in(client, "bob")
    assert callback.status_code == 303
    replay = client.get(callback.request.url.raw_path.decode(), headers=HTML, follow_redirects=False)
    assert replay.status_code == 400  # the transaction was used once
    assert heading(replay) == "Your sign-in has expired"

    client.cookies.clear()
    start = client.get("/login", follow_redirects=False)
    assert start.status_code == 303
    forged = client.get("/auth/callback", params={"code": "x", "state": "not-the-state"}, headers=HTML)
    assert forged.status_code == 400
    assert heading(forged) == "You could not be signed in"


def test_sessions_end_after_the_idle_and_the_absolute_timeout(client: TestClient[Litestar]) -> None:
    clock = clock_of(client.app)
    sign_in(client, "alice")
    clock.move(minutes=29)
    assert signed_in_as(client) == "Alice Citizen"
    clock.move(minutes=29 + 31)  # 31 minutes after the last request
    assert signed_in_as(client) is None

    clock.move()
    sign_in(client, "alice")
    for minutes in range(20, 12 * 60, 20):  # active every 20 minutes: never idle
        clock.move(minutes=minutes)
        assert signed_in_as(client) == "Alice Citizen", minutes
    clock.move(minutes=12 * 60 + 1)
    assert signed_in_as(client) is None  # twelve hours after sign-in, however active


def test_the_sweep_deletes_ended_sessions_and_keeps_live_ones(client: TestClient[Litestar]) -> None:
    clock = clock_of(client.app)
    sign_in(client, "alice")
    clock.move(minutes=31)  # idle: ended, but its row is still there
    client.cookies.clear()  # another browser
    sign_in(client, "bob")
    assert session_rows(client) == 2
    run_in_app(client, Chores(services_of(client.app)).sweep)
    assert session_rows(client) == 1
    assert signed_in_as(client) == "Bob Citizen"


@contextlib.contextmanager
def https_client(tmp_path: Path, database_url: str) -> Iterator[TestClient[Litestar]]:
    settings = make_settings(tmp_path, database_url, public_url="https://vault.example")
    migrate(settings)
    with TestClient(create_app(settings, clock=MovableClock()), base_url="https://vault.example") as client:
        yield client


def test_cookies_over_https_are_secure_host_only_and_prefixed(tmp_path: Path, database_url: str) -> None:
    with https_client(tmp_path, database_url) as client:
        first = client.get("/", headers=HTML)
        callback = sign_in(client, "alice")
    for response in (first, callback):
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("__Host-vault-session=")
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "secure", "path", "samesite"} <= attributes
        assert "domain" not in attributes  # __Host-: host-only
        assert "SameSite=lax" in cookie
        assert "Path=/" in cookie
    assert "Max-Age=43200" in callback.headers["set-cookie"]  # the absolute timeout


def test_a_post_without_the_csrf_token_is_refused(client: TestClient[Litestar]) -> None:
    sign_in(client, "alice")
    for data in ({}, {"csrf_token": "forged"}):
        refused = client.post("/logout", data=data, headers=HTML, follow_redirects=False)
        assert refused.status_code == 403
        assert heading(refused) == "This form has expired"
    assert signed_in_as(client) == "Alice Citizen"
    refused = client.post("/verify", files={"file": ("a.pdf", b"%PDF-1.7", "application/pdf")}, headers=HTML)
    assert refused.status_code == 403


def test_a_token_from_another_session_is_refused(client: TestClient[Litestar]) -> None:
    sign_in(client, "alice")
    mine = csrf_token(client.get("/", headers=HTML))
    alice = client.cookies[COOKIE]
    client.cookies.clear()
    sign_in(client, "bob")
    refused = client.post("/logout", data={"csrf_token": mine}, follow_redirects=False)
    assert refused.status_code == 403
    client.cookies.set(COOKIE, alice)
    assert signed_in_as(client) == "Alice Citizen"


STRICT = ("default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "base-uri 'none'")


@pytest.mark.parametrize(
    ("path", "status"),
    [("/", 200), ("/verify", 200), ("/?lang=fr", 200), ("/no-such-page", 404), ("/auth/callback", 400),
     ("/api/v1/documents", 401)],
)
def test_every_html_page_carries_the_strict_policy(client: TestClient[Litestar], path: str, status: int) -> None:
    page = client.get(path, headers=HTML)
    assert page.status_code == status
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert all(directive in policy for directive in STRICT), policy
    assert "unsafe" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    assert 'lang="' in page.text
    assert 'href="#main-content"' in page.text


def test_api_clients_keep_problem_details(client: TestClient[Litestar]) -> None:
    for accept in ("*/*", "application/json", "application/problem+json, text/html;q=0.5"):
        response = client.get("/no-such-page", headers={"Accept": accept})
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


def test_the_language_follows_the_browser_and_the_switch(client: TestClient[Litestar]) -> None:
    french = client.get("/", headers={**HTML, "Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"})
    assert '<html lang="fr">' in french.text
    assert heading(french) == "Gardez vos documents en sécurité et partagez-les selon vos conditions"
    assert 'hreflang="en"' in french.text  # the switch
    english = client.get("/?lang=en", headers={**HTML, "Accept-Language": "fr"})
    assert '<html lang="en">' in english.text
    assert client.cookies["vault-lang"] == "en"
    remembered = client.get("/no-such-page", headers={**HTML, "Accept-Language": "fr"})
    assert heading(remembered) == "Page not found"


OFF_SITE = ["//evil.example/x", "https://evil.example", "/\\evil.example", "", "relative", "/ok\n"]


@pytest.mark.parametrize("value", OFF_SITE)
def test_sign_in_never_redirects_off_site(value: str) -> None:
    assert safe_next(value) == "/"


def test_sign_in_returns_to_a_local_page() -> None:
    assert safe_next("/verify?lang=fr") == "/verify?lang=fr"


def test_portal_sign_in_and_out_are_audited(client: TestClient[Litestar]) -> None:
    sign_in(client, "audrey")
    token = csrf_token(client.get("/", headers=HTML))
    client.post("/logout", data={"csrf_token": token}, follow_redirects=False)

    async def entries() -> list[bytes]:
        """Sequenced entries and those still queued for sequencing, oldest first."""
        async with services_of(client.app).db.transaction() as session:
            sequenced = select(AuditEntryRow.canonical).order_by(AuditEntryRow.seq)
            done = [bytes(c) for c in await session.scalars(sequenced)]
            queued = [bytes(b) for b in await session.scalars(select(AuditQueueRow.body).order_by(AuditQueueRow.id))]
            return done + queued

    portal = [e for e in run_in_app(client, entries) if b'"via":"portal"' in e]
    assert [b'"auth.login"' in portal[0], b'"auth.logout"' in portal[1]] == [True, True]
