"""The development provider over HTTP (/dev-idp on a throwaway Litestar app), validated by TokenValidator."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from litestar import Litestar, get
from litestar.testing import TestClient

from auth import (
    DEMO_USERS,
    DEV_USER_GRANT_TYPE,
    DevIdentityProvider,
    InvalidToken,
    JwksCache,
    TokenPolicy,
    TokenValidator,
    s256,
)
from vault.http.dev_idp import dev_idp_router

BASE = "http://testserver.local"
ISSUER = f"{BASE}/dev-idp"
AUDIENCE = "citizen-vault"
REDIRECT = "http://127.0.0.1:8000/auth/callback"
_TRANSACTION = re.compile(r'name="transaction" value="([^"]+)"')


@get("/private", sync_to_thread=False)
def private() -> str:
    return "secret"


@pytest.fixture
def provider(tmp_path: Path) -> DevIdentityProvider:
    return DevIdentityProvider.load_or_create(tmp_path / "dev-idp.pem", ISSUER, AUDIENCE)


@pytest.fixture
def app(provider: DevIdentityProvider) -> Litestar:
    return Litestar(route_handlers=[dev_idp_router(provider), private])


@pytest.fixture
def client(app: Litestar) -> Iterator[TestClient[Litestar]]:
    with TestClient(app, base_url=BASE) as vault_client:
        yield vault_client


@pytest.fixture
async def validator(app: Litestar) -> AsyncIterator[TokenValidator]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        yield TokenValidator(TokenPolicy(issuer=ISSUER, audience=AUDIENCE), JwksCache(ISSUER, http))


def authorize_params(verifier: str, **overrides: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": "portal",
        "redirect_uri": REDIRECT,
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
        "state": "st-1",
        "nonce": "n-1",
        "scope": "openid",
        **overrides,
    }


def log_in(client: TestClient[Litestar], username: str, verifier: str) -> dict[str, list[str]]:
    """GET the login page, pick the user, return the callback's query."""
    page = client.get("/dev-idp/authorize", params=authorize_params(verifier))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert all(name in page.text for name in DEMO_USERS)
    match = _TRANSACTION.search(page.text)
    assert match is not None
    answer = client.post(
        "/dev-idp/authorize", data={"transaction": match[1], "username": username}, follow_redirects=False
    )
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return parse_qs(urlsplit(location).query)


def exchange(client: TestClient[Litestar], code: str, verifier: str, **overrides: str) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": "portal",
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
        **overrides,
    }
    return client.post("/dev-idp/token", data=form)


def test_discovery_and_jwks_are_served(client: TestClient[Litestar], provider: DevIdentityProvider) -> None:
    discovery = client.get("/dev-idp/.well-known/openid-configuration")
    assert discovery.status_code == 200
    assert discovery.json() == provider.discovery_document()
    assert discovery.json()["issuer"] == ISSUER
    jwks = client.get("/dev-idp/jwks").json()
    assert [key["kid"] for key in jwks["keys"]] == [provider.key_id]
    assert all("d" not in key for key in jwks["keys"])


def test_every_dev_idp_route_is_excluded_from_auth(app: Litestar) -> None:
    routes = [route for route in app.routes if route.path.startswith("/dev-idp")]
    assert {route.path for route in routes} == {
        "/dev-idp/.well-known/openid-configuration",
        "/dev-idp/jwks",
        "/dev-idp/authorize",
        "/dev-idp/token",
    }
    handlers = [handler for route in routes for handler in route.route_handlers]  # type: ignore[attr-defined]
    assert handlers
    assert all(handler.opt.get("exclude_from_auth") is True for handler in handlers)
    assert all(
        handler.opt.get("exclude_from_auth") is not True
        for route in app.routes
        if route.path == "/private"
        for handler in route.route_handlers  # type: ignore[attr-defined]
    )


async def test_pkce_login_gives_tokens_that_validate(client: TestClient[Litestar], validator: TokenValidator) -> None:
    verifier = secrets.token_urlsafe(48)
    query = log_in(client, "olga", verifier)
    assert query["state"] == ["st-1"]
    assert query["iss"] == [ISSUER]
    response = exchange(client, query["code"][0], verifier)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    principal = await validator.validate(body["access_token"])
    assert principal.subject == DEMO_USERS["olga"].subject
    assert principal.roles == frozenset({"agency"})
    assert principal.agency == "tax-office"
    assert principal.client_id == "portal"
    assert principal.issuer == ISSUER
    # the ID token of the same login is not an access token
    with pytest.raises(InvalidToken) as caught:
        await validator.validate(body["id_token"])
    assert caught.value.reason == "type"


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"code_verifier": secrets.token_urlsafe(48)}, id="wrong verifier"),
        pytest.param({"code_verifier": ""}, id="no verifier"),
        pytest.param({"redirect_uri": "http://127.0.0.1:8000/elsewhere"}, id="wrong redirect_uri"),
        pytest.param({"client_id": "other-client"}, id="wrong client"),
    ],
)
def test_a_mismatched_code_exchange_is_refused(client: TestClient[Litestar], overrides: dict[str, str]) -> None:
    verifier = secrets.token_urlsafe(48)
    code = log_in(client, "alice", verifier)["code"][0]
    refused = exchange(client, code, verifier, **overrides)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    assert "access_token" not in refused.json()
    # the failed attempt burned the code
    assert exchange(client, code, verifier).status_code == 400


def test_a_code_cannot_be_reused(client: TestClient[Litestar]) -> None:
    verifier = secrets.token_urlsafe(48)
    code = log_in(client, "bob", verifier)["code"][0]
    assert exchange(client, code, verifier).status_code == 200
    replay = exchange(client, code, verifier)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"code_challenge_method": "plain"}, id="plain PKCE"),
        pytest.param({"code_challenge": ""}, id="no challenge"),
        pytest.param({"redirect_uri": "https://evil.example/steal"}, id="foreign redirect"),
        pytest.param({"response_type": "token"}, id="implicit flow"),
    ],
)
def test_bad_authorization_requests_get_an_error_page_not_a_redirect(
    client: TestClient[Litestar], overrides: dict[str, str]
) -> None:
    page = client.get(
        "/dev-idp/authorize",
        params=authorize_params(secrets.token_urlsafe(48), **overrides),
        follow_redirects=False,
    )
    assert page.status_code == 400
    assert "location" not in page.headers
    assert "transaction" not in page.text


def test_an_unknown_transaction_is_refused(client: TestClient[Litestar]) -> None:
    answer = client.post(
        "/dev-idp/authorize", data={"transaction": "forged", "username": "admin"}, follow_redirects=False
    )
    assert answer.status_code == 400
    assert "location" not in answer.headers


def test_the_login_page_escapes_what_the_client_sent(client: TestClient[Litestar]) -> None:
    page = client.get(
        "/dev-idp/authorize",
        params=authorize_params(secrets.token_urlsafe(48), client_id="<script>x</script>"),
    )
    assert page.status_code == 200
    assert "<script>" not in page.text
    assert "&lt;script&gt;" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "password", "username": "admin", "password": "x"}, "unsupported_grant_type"),
        ({"grant_type": "client_credentials"}, "unsupported_grant_type"),
        ({"grant_type": "implicit"}, "unsupported_grant_type"),
        ({}, "unsupported_grant_type"),
        ({"grant_type": DEV_USER_GRANT_TYPE, "username": "mallory"}, "access_denied"),
        ({"grant_type": "authorization_code", "code": "guessed", "code_verifier": "x" * 43}, "invalid_grant"),
    ],
)
def test_the_token_endpoint_refuses_other_grants(
    client: TestClient[Litestar], form: dict[str, Any], error: str
) -> None:
    refused = client.post("/dev-idp/token", data=form)
    assert refused.status_code == 400
    assert refused.json()["error"] == error


@pytest.mark.parametrize("username", sorted(DEMO_USERS))
async def test_the_dev_user_grant_mints_tokens_that_validate(
    client: TestClient[Litestar], validator: TokenValidator, username: str
) -> None:
    response = client.post("/dev-idp/token", data={"grant_type": DEV_USER_GRANT_TYPE, "username": username})
    assert response.status_code == 200
    principal = await validator.validate(response.json()["access_token"])
    user = DEMO_USERS[username]
    assert principal.subject == user.subject
    assert principal.roles == frozenset(user.roles)
    assert principal.agency == user.agency
    assert principal.client_id == "vault-cli"


async def test_tokens_from_another_dev_provider_instance_are_refused(tmp_path: Path, validator: TokenValidator) -> None:
    impostor = DevIdentityProvider.load_or_create(tmp_path / "other.pem", ISSUER, AUDIENCE)
    with pytest.raises(InvalidToken) as caught:
        await validator.validate(impostor.issue_access_token("admin"))
    assert caught.value.reason == "unknown kid"
