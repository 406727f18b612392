"""DevIdentityProvider: its key file, its tokens, and the authorization code + PKCE rules (no HTTP here)."""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from auth import (
    DEMO_USERS,
    DEV_ACR,
    AuthError,
    AuthorizationRequestError,
    DevIdentityProvider,
    DevProviderRefused,
    s256,
)

ISSUER = "http://127.0.0.1:8000/dev-idp"
AUDIENCE = "citizen-vault"
REDIRECT = "http://127.0.0.1:8000/auth/callback"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def decode(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    pad = lambda part: part + "=" * (-len(part) % 4)  # noqa: E731
    return json.loads(base64.urlsafe_b64decode(pad(header))), json.loads(base64.urlsafe_b64decode(pad(payload)))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def provider(tmp_path: Path, clock: Clock) -> DevIdentityProvider:
    return DevIdentityProvider.load_or_create(tmp_path / "dev-idp.pem", ISSUER, AUDIENCE, clock=clock)


def login(provider: DevIdentityProvider, username: str = "alice", **overrides: Any) -> tuple[str, str]:
    """Run begin + complete; returns (code, verifier)."""
    verifier = secrets.token_urlsafe(48)
    request = {
        "client_id": "portal",
        "redirect_uri": REDIRECT,
        "code_challenge": s256(verifier),
        "method": "S256",
        "state": "xyz",
        "nonce": "n-1",
        "scope": "openid profile",
        **overrides,
    }
    pending = provider.begin_authorization(**request)
    answer = provider.complete_login(username, pending.transaction_id)
    query = parse_qs(urlsplit(answer.location).query)
    assert query == {"code": [answer.code], "state": ["xyz"], "iss": [ISSUER]}
    return answer.code, verifier


def test_the_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    key_path = tmp_path / "sub" / "dev-idp.pem"
    first = DevIdentityProvider.load_or_create(key_path, ISSUER, AUDIENCE)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    second = DevIdentityProvider.load_or_create(key_path, ISSUER, AUDIENCE)
    assert first.key_id == second.key_id
    assert first.jwks() == second.jwks()


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    key_path = tmp_path / "dev-idp.pem"
    DevIdentityProvider.load_or_create(key_path, ISSUER, AUDIENCE)
    os.chmod(key_path, 0o644)
    with pytest.raises(AuthError, match="readable by others"):
        DevIdentityProvider.load_or_create(key_path, ISSUER, AUDIENCE)


def test_a_key_file_without_a_p256_private_key_is_refused(tmp_path: Path) -> None:
    key_path = tmp_path / "dev-idp.pem"
    key_path.write_text("not a key")
    key_path.chmod(0o600)
    with pytest.raises(AuthError, match="P-256 private key"):
        DevIdentityProvider.load_or_create(key_path, ISSUER, AUDIENCE)


@pytest.mark.parametrize("env", ["production", "Production", " production "])
def test_production_refuses_the_development_provider(tmp_path: Path, env: str) -> None:
    with pytest.raises(DevProviderRefused):
        DevIdentityProvider.refuse_in_production(env)
    with pytest.raises(DevProviderRefused):
        DevIdentityProvider.load_or_create(tmp_path / "k.pem", ISSUER, AUDIENCE, env=env)
    assert not (tmp_path / "k.pem").exists()


@pytest.mark.parametrize("env", ["development", "test"])
def test_development_and_test_environments_are_allowed(tmp_path: Path, env: str) -> None:
    DevIdentityProvider.refuse_in_production(env)  # does not raise
    provider = DevIdentityProvider.load_or_create(tmp_path / "k.pem", ISSUER, AUDIENCE, env=env)
    assert (tmp_path / "k.pem").stat().st_mode & 0o077 == 0  # the key was written, private
    assert provider.jwks()["keys"]


def test_the_jwks_holds_only_the_public_key(provider: DevIdentityProvider) -> None:
    (key,) = provider.jwks()["keys"]
    assert key["kty"] == "EC"
    assert key["crv"] == "P-256"
    assert key["kid"] == provider.key_id
    assert key["alg"] == "ES256"
    assert "d" not in key


def test_discovery_names_the_endpoints_under_the_issuer(provider: DevIdentityProvider) -> None:
    document = provider.discovery_document()
    assert document["issuer"] == ISSUER
    assert document["jwks_uri"] == f"{ISSUER}/jwks"
    assert document["token_endpoint"] == f"{ISSUER}/token"
    assert document["authorization_endpoint"] == f"{ISSUER}/authorize"
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert "password" not in document["grant_types_supported"]
    assert document["acr_values_supported"] == [DEV_ACR]


def test_demo_users_cover_every_role() -> None:
    assert {"alice", "bob", "olga", "oscar", "audrey", "admin"} <= set(DEMO_USERS)
    assert DEMO_USERS["olga"].agency == "tax-office"
    assert DEMO_USERS["oscar"].agency == "city-registry"
    assert {role for user in DEMO_USERS.values() for role in user.roles} == {
        "citizen",
        "agency",
        "auditor",
        "admin",
    }
    assert len({user.subject for user in DEMO_USERS.values()}) == len(DEMO_USERS)


def test_access_tokens_follow_rfc9068(provider: DevIdentityProvider, clock: Clock) -> None:
    header, claims = decode(provider.issue_access_token("olga", lifetime=600))
    assert header == {"alg": "ES256", "typ": "at+jwt", "kid": provider.key_id}
    assert claims["iss"] == ISSUER
    assert claims["aud"] == AUDIENCE
    assert claims["sub"] == DEMO_USERS["olga"].subject
    assert claims["iat"] == int(clock.now)
    assert claims["exp"] == int(clock.now) + 600
    assert claims["client_id"] == "vault-cli"
    assert claims["roles"] == ["agency"]
    assert claims["agency"] == "tax-office"
    assert claims["jti"]
    assert claims["scope"]
    assert claims["acr"] == DEV_ACR  # says outright that nobody's identity was checked


def test_tokens_for_unknown_users_are_refused(provider: DevIdentityProvider) -> None:
    with pytest.raises(AuthorizationRequestError):
        provider.issue_access_token("mallory")


def test_the_code_flow_issues_access_and_id_tokens(provider: DevIdentityProvider) -> None:
    code, verifier = login(provider, "bob")
    response = provider.exchange_code(code, "portal", REDIRECT, verifier)
    assert response["token_type"] == "Bearer"
    _, access = decode(response["access_token"])
    id_header, id_claims = decode(response["id_token"])
    assert access["sub"] == id_claims["sub"] == DEMO_USERS["bob"].subject
    assert access["client_id"] == "portal"
    assert id_header["typ"] == "JWT"
    assert id_claims["aud"] == "portal"
    assert id_claims["nonce"] == "n-1"
    assert access["acr"] == id_claims["acr"] == DEV_ACR


@pytest.mark.parametrize(
    ("exchange", "error"),
    [
        ({"code_verifier": "x" * 43}, "invalid_grant"),
        ({"code_verifier": ""}, "invalid_grant"),
        ({"redirect_uri": "http://127.0.0.1:8000/other"}, "invalid_grant"),
        ({"client_id": "someone-else"}, "invalid_grant"),
        ({"code": "guessed"}, "invalid_grant"),
    ],
)
def test_a_mismatched_exchange_is_refused_and_burns_the_code(
    provider: DevIdentityProvider, exchange: dict[str, str], error: str
) -> None:
    code, verifier = login(provider)
    good = {"code": code, "client_id": "portal", "redirect_uri": REDIRECT, "code_verifier": verifier}
    with pytest.raises(AuthorizationRequestError) as caught:
        provider.exchange_code(**{**good, **exchange})
    assert caught.value.error == error
    if "code" not in exchange:
        # single use: the failed attempt consumed the code, so even the right verifier no longer works
        with pytest.raises(AuthorizationRequestError):
            provider.exchange_code(**good)


def test_a_code_is_single_use(provider: DevIdentityProvider) -> None:
    code, verifier = login(provider)
    provider.exchange_code(code, "portal", REDIRECT, verifier)
    with pytest.raises(AuthorizationRequestError) as caught:
        provider.exchange_code(code, "portal", REDIRECT, verifier)
    assert caught.value.error == "invalid_grant"


def test_a_code_expires_after_60_seconds(provider: DevIdentityProvider, clock: Clock) -> None:
    code, verifier = login(provider)
    clock.now += 61
    with pytest.raises(AuthorizationRequestError):
        provider.exchange_code(code, "portal", REDIRECT, verifier)


def test_a_code_is_accepted_within_60_seconds(provider: DevIdentityProvider, clock: Clock) -> None:
    code, verifier = login(provider)
    clock.now += 59
    assert provider.exchange_code(code, "portal", REDIRECT, verifier)["access_token"]


def test_a_login_transaction_is_single_use(provider: DevIdentityProvider) -> None:
    pending = provider.begin_authorization("portal", REDIRECT, s256("v" * 43), "S256", state=None, nonce=None)
    provider.complete_login("alice", pending.transaction_id)
    with pytest.raises(AuthorizationRequestError):
        provider.complete_login("admin", pending.transaction_id)


def test_logging_in_as_an_unknown_user_keeps_the_transaction(provider: DevIdentityProvider) -> None:
    pending = provider.begin_authorization("portal", REDIRECT, s256("v" * 43), "S256", state=None, nonce=None)
    with pytest.raises(AuthorizationRequestError):
        provider.complete_login("mallory", pending.transaction_id)
    assert provider.complete_login("alice", pending.transaction_id).code


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"method": "plain"}, id="plain PKCE"),
        pytest.param({"method": ""}, id="no PKCE method"),
        pytest.param({"code_challenge": ""}, id="no challenge"),
        pytest.param({"code_challenge": "short"}, id="malformed challenge"),
        pytest.param({"client_id": ""}, id="no client"),
        pytest.param({"redirect_uri": "https://evil.example/cb"}, id="foreign redirect"),
        pytest.param({"redirect_uri": "javascript:alert(1)"}, id="script redirect"),
        pytest.param({"redirect_uri": "http://127.0.0.1:8000/cb#frag"}, id="redirect with fragment"),
        pytest.param({"redirect_uri": ""}, id="no redirect"),
    ],
)
def test_bad_authorization_requests_are_refused(provider: DevIdentityProvider, overrides: dict[str, str]) -> None:
    request = {
        "client_id": "portal",
        "redirect_uri": REDIRECT,
        "code_challenge": s256("v" * 43),
        "method": "S256",
        "state": None,
        "nonce": None,
        **overrides,
    }
    with pytest.raises(AuthorizationRequestError) as caught:
        provider.begin_authorization(**request)
    assert caught.value.error == "invalid_request"


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://localhost:5173/cb",
        "http://[::1]:9000/cb",
        "http://127.0.0.1/cb",
        f"{ISSUER}/../portal/callback",
    ],
)
def test_loopback_and_own_origin_redirects_are_allowed(provider: DevIdentityProvider, redirect_uri: str) -> None:
    pending = provider.begin_authorization("portal", redirect_uri, s256("v" * 43), "S256", state=None, nonce=None)
    assert pending.redirect_uri == redirect_uri
