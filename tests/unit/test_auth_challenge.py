"""Client-safe reasons for refused tokens (RFC 6750 `error_description`) and which URLs production trusts."""

from __future__ import annotations

import re

import pytest

from auth import TOKEN_PROBLEM_DESCRIPTIONS, InvalidToken, bearer_challenge, is_loopback_host, is_secure_url

# RFC 6750, 3: error_description = 1*( %x20-21 / %x23-5B / %x5D-7E )
RFC6750_DESCRIPTION = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]+")


@pytest.mark.parametrize(
    ("reason", "problem"),
    [
        ("expired_token: exp", "expired"),
        ("invalid_claim: nbf", "not_yet_valid"),
        ("invalid_claim: iat", "not_yet_valid"),
        ("lifetime", "lifetime"),
        ("invalid_claim: aud", "audience"),
        ("missing_claim: aud", "audience"),
        ("invalid_claim: iss", "issuer"),
        ("missing_claim: iss", "issuer"),
        ("unknown kid", "unknown_key"),
        ("signature", "signature"),
        ("key use", "signature"),
        ("algorithm", "signature"),
        ("type", "type"),
        ("structure", "malformed"),
        ("header", "malformed"),
        ("payload", "malformed"),
        ("size", "malformed"),
        ("crit", "malformed"),
        ("kid", "malformed"),
        ("missing_claim: sub", "malformed"),
        ("invalid_claim: exp", "malformed"),
        ("something new", "malformed"),
    ],
)
def test_each_reason_has_a_client_safe_class_and_sentence(reason: str, problem: str) -> None:
    error = InvalidToken(reason)
    assert error.problem == problem
    assert error.description == TOKEN_PROBLEM_DESCRIPTIONS[problem]
    assert error.detail == "invalid access token"  # the problem body stays generic


@pytest.mark.parametrize("description", sorted(TOKEN_PROBLEM_DESCRIPTIONS.values()))
def test_every_description_fits_an_rfc6750_quoted_string(description: str) -> None:
    assert RFC6750_DESCRIPTION.fullmatch(description)


def test_the_sentences_are_distinct() -> None:
    assert len(set(TOKEN_PROBLEM_DESCRIPTIONS.values())) == len(TOKEN_PROBLEM_DESCRIPTIONS)


def test_a_missing_token_is_challenged_without_an_error_code() -> None:
    # RFC 6750, 3.1: a request without authentication gets no error code
    assert bearer_challenge("citizen-vault") == 'Bearer realm="citizen-vault"'


def test_a_refused_token_is_challenged_with_invalid_token_and_why() -> None:
    assert bearer_challenge("citizen-vault", InvalidToken("expired_token: exp")) == (
        'Bearer realm="citizen-vault", error="invalid_token", error_description="the access token has expired"'
    )


@pytest.mark.parametrize("realm", ["", 'vault"x', "vault\\x", "vault\nx"])
def test_a_realm_that_cannot_be_quoted_is_refused(realm: str) -> None:
    with pytest.raises(ValueError):
        bearer_challenge(realm)


@pytest.mark.parametrize(
    ("url", "secure"),
    [
        ("https://idp.example/realms/citizens", True),
        ("HTTPS://idp.example", True),
        ("http://127.0.0.1:8080/realms/x", True),
        ("http://127.8.9.10/x", True),
        ("http://localhost:8080", True),
        ("http://keycloak.localhost:8080", True),
        ("http://[::1]:8080", True),
        ("http://idp.example/realms/citizens", False),
        ("http://keycloak:8080/realms/citizens", False),
        ("http://10.0.0.5", False),
        ("http://0.0.0.0:8080", False),
        ("http://localhost.evil.example", False),
        ("http://127.0.0.1.evil.example", False),
        ("ftp://idp.example", False),
        ("https://", False),
        ("idp.example", False),
        ("http://[::1", False),
    ],
)
def test_production_trusts_https_and_loopback_http_only(url: str, secure: bool) -> None:
    assert is_secure_url(url) is secure


def test_loopback_hosts() -> None:
    assert is_loopback_host("127.0.0.1")
    assert is_loopback_host("LOCALHOST.")
    assert not is_loopback_host("::")
