"""The token attacks of TESTING.md over HTTP: the service, configured with the external provider, answers 401
with a bearer challenge and the same generic problem for every forgery (nothing tells which check failed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from auth import TOKEN_PROBLEM_DESCRIPTIONS
from tests.integration.test_auth_token_attacks import ATTACKS, CLIENT_REASONS, Forge
from tests.services.oidc_provider import OidcProvider
from tests.support.vault_app import make_settings, vault_client

pytestmark = pytest.mark.oidc


@pytest.fixture(scope="module")
def external_client(
    tmp_path_factory: pytest.TempPathFactory, oidc_provider: OidcProvider
) -> Iterator[TestClient[Litestar]]:
    settings = make_settings(
        Path(tmp_path_factory.mktemp("attacks")),
        oidc_issuer=oidc_provider.issuer,
        oidc_audience=oidc_provider.audience,
    )
    with vault_client(settings) as client:
        yield client


def test_a_genuine_token_is_accepted(external_client: TestClient[Litestar], oidc_provider: OidcProvider) -> None:
    response = external_client.get(
        "/api/v1/documents", headers={"Authorization": f"Bearer {oidc_provider.token('citizen-a')}"}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"items": [], "next_cursor": None}  # the token's citizen, with an empty vault
    me = external_client.get("/api/v1/me", headers={"Authorization": f"Bearer {oidc_provider.token('citizen-a')}"})
    assert (me.json()["subject"], me.json()["issuer"]) == ("citizen-a", oidc_provider.issuer)


@pytest.mark.parametrize(("forge", "reason"), ATTACKS)
def test_forged_tokens_are_refused_with_a_generic_401(
    external_client: TestClient[Litestar], oidc_provider: OidcProvider, forge: Forge, reason: str
) -> None:
    token = forge(oidc_provider)
    response = external_client.get("/api/v1/documents", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    # the same body for every forgery: which check failed is for the server log only; an empty token is no
    # token at all (the header carries only the scheme), and says so
    detail = "a bearer access token is required" if token == "" else "the access token is not valid"
    assert response.json() == {
        "type": "https://citizen-vault.dev/problems/unauthorized",
        "title": "Authentication required",
        "status": 401,
        "detail": detail,
        "instance": "/api/v1/documents",
    }


@pytest.mark.parametrize(("forge", "reason"), [attack for attack in ATTACKS if attack.id != "empty"])
def test_the_challenge_says_why_without_token_material(
    external_client: TestClient[Litestar], oidc_provider: OidcProvider, forge: Forge, reason: str
) -> None:
    token = forge(oidc_provider)
    response = external_client.get("/api/v1/documents", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    description = TOKEN_PROBLEM_DESCRIPTIONS[CLIENT_REASONS[reason]]
    assert response.headers["www-authenticate"] == (
        f'Bearer realm="citizen-vault", error="invalid_token", error_description="{description}"'
    )
    assert all(part not in response.headers["www-authenticate"] for part in token.split(".") if len(part) > 3)


def test_a_missing_token_is_challenged_without_an_error_code(external_client: TestClient[Litestar]) -> None:
    response = external_client.get("/api/v1/documents")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="citizen-vault"'
