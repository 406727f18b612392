"""Production settings refuse a plain-http identity provider; the token lifetime limit is a setting."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from vault.settings import Settings

PRODUCTION: dict[str, Any] = {
    "env": "production",
    "database_url": "postgresql+asyncpg://vault@db.internal/vault",
    "storage_url": "s3://access:secret@s3.internal:9000/vault",
    "key_provider": "local:/var/lib/vault/keyring.json",
    "oidc_issuer": "https://id.example.gov/realms/citizens",
    "trust_roots": "/etc/vault/roots.pem",
    "signing_key": "/etc/vault/seal.key",
    "signing_cert": "/etc/vault/seal.pem",
}


def settings(**overrides: Any) -> Settings:
    return Settings(_env_file=None, **{**PRODUCTION, **overrides})  # type: ignore[call-arg]


def test_the_production_example_is_accepted() -> None:
    assert settings().oidc_issuer == PRODUCTION["oidc_issuer"]


@pytest.mark.parametrize(
    "issuer", ["http://id.example.gov/realms/citizens", "http://keycloak:8080/realms/citizens", "id.example.gov"]
)
def test_production_refuses_a_plain_http_issuer(issuer: str) -> None:
    with pytest.raises(ValidationError, match="https VAULT_OIDC_ISSUER"):
        settings(oidc_issuer=issuer)


@pytest.mark.parametrize("issuer", ["http://127.0.0.1:8080/realms/citizens", "http://localhost:8080/realms/x"])
def test_production_accepts_plain_http_on_loopback(issuer: str) -> None:
    assert settings(oidc_issuer=issuer).oidc_issuer == issuer


def test_development_accepts_a_plain_http_issuer() -> None:
    assert settings(env="development", oidc_issuer="http://keycloak:8080/realms/x").env == "development"


def test_the_token_lifetime_limit_defaults_to_an_hour_and_is_bounded() -> None:
    assert settings().oidc_max_token_lifetime_seconds == 3600
    assert settings(oidc_max_token_lifetime_seconds=5400).oidc_max_token_lifetime_seconds == 5400
    for bad in (0, 8 * 24 * 3600):
        with pytest.raises(ValidationError):
            settings(oidc_max_token_lifetime_seconds=bad)
