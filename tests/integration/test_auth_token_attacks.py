"""Token attacks against the REAL OpenID provider's JWKS (npm oidc-provider): each forgery is refused.

The session holds the provider's signing key (see tests/services/oidc_provider.py), so most forgeries are
signed with the provider's genuine key and differ from a real token in exactly one respect: the assertion on
`reason` then proves which check refused it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from auth import (
    TOKEN_PROBLEM_DESCRIPTIONS,
    InvalidToken,
    JwksCache,
    ProviderUnavailable,
    TokenPolicy,
    TokenValidator,
    bearer_challenge,
)
from tests.services._proc import free_port
from tests.services.oidc_provider import OidcProvider

pytestmark = pytest.mark.oidc

Forge = Callable[[OidcProvider], str]


class CountingTransport(httpx.AsyncBaseTransport):
    """Real HTTP, with a record of the paths requested."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()

    @property
    def jwks_fetches(self) -> int:
        return self.paths.count("/jwks")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def transport() -> CountingTransport:
    return CountingTransport()


@pytest.fixture
async def http(transport: CountingTransport) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=transport) as client:
        yield client


@pytest.fixture
def validator(oidc_provider: OidcProvider, http: httpx.AsyncClient) -> TokenValidator:
    policy = TokenPolicy(issuer=oidc_provider.issuer, audience=oidc_provider.audience)
    return TokenValidator(policy, JwksCache(oidc_provider.issuer, http))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def genuine_claims(provider: OidcProvider, principal: str = "citizen-a") -> dict[str, Any]:
    return dict(unb64(provider.token(principal).split(".")[1]))


def forged(**changes: Any) -> Forge:
    """Genuine claims with some changed (None drops a claim), signed with the provider's genuine key."""

    def forge(provider: OidcProvider) -> str:
        now = int(time.time())
        claims = {**genuine_claims(provider), "iat": now, "exp": now + 300, **changes}
        return provider.sign({}, {name: value for name, value in claims.items() if value is not None})

    return forge


def forged_at(**offsets: int) -> Forge:
    """Genuine claims with time claims set to now + offset seconds, when the test runs (not at import)."""

    def forge(provider: OidcProvider) -> str:
        now = int(time.time())
        return forged(**{name: now + offset for name, offset in offsets.items()})(provider)

    return forge


def alg_none(signature: str) -> Forge:
    def forge(provider: OidcProvider) -> str:
        header = {"alg": "none", "typ": "at+jwt", "kid": provider.key_id}
        return f"{b64(json.dumps(header).encode())}.{provider.token('citizen-a').split('.')[1]}.{signature}"

    return forge


def hs256_with_public_key(provider: OidcProvider) -> str:
    # fetch the public key as any attacker would, and use its PEM as an HMAC secret
    (jwk,) = httpx.get(f"{provider.issuer}/jwks").json()["keys"]
    secret = RSAKey.import_key(jwk).as_pem(private=False)
    header = b64(json.dumps({"alg": "HS256", "typ": "at+jwt", "kid": jwk["kid"]}).encode())
    payload = provider.token("citizen-a").split(".")[1]
    mac = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(mac)}"


def own_key(kid: str | None) -> Forge:
    """Genuine claims signed with a key of ours, under an unknown kid or under the provider's kid."""

    def forge(provider: OidcProvider) -> str:
        key = RSAKey.generate_key(2048)
        header = {"alg": "RS256", "typ": "at+jwt", "kid": kid or provider.key_id}
        return jwt.encode(header, genuine_claims(provider), key, algorithms=["RS256"])

    return forge


def tampered(provider: OidcProvider) -> str:
    header, payload, signature = provider.token("citizen-a").split(".")
    claims = {**unb64(payload), "roles": ["admin"]}
    return f"{header}.{b64(json.dumps(claims).encode())}.{signature}"


def id_token(provider: OidcProvider) -> str:
    token = provider.id_token()
    claims = unb64(token.split(".")[1])
    # precondition: same issuer and audience as an access token, so only the RFC 9068 type tells them apart
    assert claims["iss"] == provider.issuer
    assert claims["aud"] == provider.audience
    return token


ATTACKS = [
    pytest.param(alg_none(""), "structure", id="alg none, empty signature"),
    pytest.param(alg_none("c2lnbmF0dXJl"), "algorithm", id="alg none, some signature"),
    pytest.param(hs256_with_public_key, "algorithm", id="HS256 signed with the public key"),
    pytest.param(forged_at(iat=-700, exp=-100), "expired_token: exp", id="expired"),
    pytest.param(forged_at(nbf=600), "invalid_claim: nbf", id="not yet valid"),
    pytest.param(forged_at(iat=600, exp=900), "invalid_claim: iat", id="future iat"),
    pytest.param(forged(iss="https://evil.example"), "invalid_claim: iss", id="wrong issuer"),
    pytest.param(forged(aud="some-other-api"), "invalid_claim: aud", id="wrong audience"),
    pytest.param(forged(aud=["some-other-api"]), "invalid_claim: aud", id="wrong audience list"),
    pytest.param(forged(sub=None), "missing_claim: sub", id="no subject"),
    pytest.param(own_key("attacker-kid"), "unknown kid", id="unknown kid"),
    pytest.param(own_key(None), "signature", id="our key under the provider's kid"),
    pytest.param(id_token, "type", id="ID token used as access token"),
    pytest.param(tampered, "signature", id="tampered payload"),
    pytest.param(lambda provider: "garbage", "structure", id="garbage"),
    pytest.param(lambda provider: "", "size", id="empty"),
    pytest.param(forged(padding="A" * 17000), "size", id="oversize"),
    pytest.param(forged_at(iat=0, exp=10 * 365 * 86400), "lifetime", id="expiry ten years away"),
    pytest.param(forged_at(iat=-3000, exp=3000), "lifetime", id="issued for 100 minutes"),
]

# what the client may be told for each row above (RFC 6750 error_description), by reason
CLIENT_REASONS = {
    "structure": "malformed", "algorithm": "signature", "expired_token: exp": "expired",
    "invalid_claim: nbf": "not_yet_valid", "invalid_claim: iat": "not_yet_valid", "invalid_claim: iss": "issuer",
    "invalid_claim: aud": "audience", "missing_claim: sub": "malformed", "unknown kid": "unknown_key",
    "signature": "signature", "type": "type", "size": "malformed", "lifetime": "lifetime",
}  # fmt: skip


async def test_a_genuine_token_passes(oidc_provider: OidcProvider, validator: TokenValidator) -> None:
    principal = await validator.validate(oidc_provider.token("citizen-a"))
    assert principal.subject == "citizen-a"
    assert principal.issuer == oidc_provider.issuer
    assert principal.client_id == "citizen-a"
    assert principal.token_id
    assert principal.expires_at is not None
    assert principal.expires_at > time.time()


async def test_the_forging_helper_makes_valid_tokens(oidc_provider: OidcProvider, validator: TokenValidator) -> None:
    # control for the table below: unchanged claims under the provider's key pass; a refusal is the change's
    assert (await validator.validate(forged()(oidc_provider))).subject == "citizen-a"


@pytest.mark.parametrize(
    ("principal", "roles", "agency"),
    [
        ("citizen-a", {"citizen"}, None),
        ("citizen-b", {"citizen"}, None),
        ("agency-x", {"agency"}, "tax-office"),
        ("agency-y", {"agency"}, "city-registry"),
        ("auditor", {"auditor"}, None),
        ("admin", {"admin"}, None),
        ("norole", set(), None),
    ],
)
async def test_roles_and_agency_are_mapped(
    oidc_provider: OidcProvider,
    validator: TokenValidator,
    principal: str,
    roles: set[str],
    agency: str | None,
) -> None:
    validated = await validator.validate(oidc_provider.token(principal))
    assert validated.subject == principal
    assert validated.roles == frozenset(roles)
    assert validated.agency == agency


@pytest.mark.parametrize(("forge", "reason"), ATTACKS)
async def test_attacks_are_refused_without_saying_why(
    oidc_provider: OidcProvider, validator: TokenValidator, forge: Forge, reason: str
) -> None:
    with pytest.raises(InvalidToken) as caught:
        await validator.validate(forge(oidc_provider))
    assert caught.value.reason == reason
    assert caught.value.detail == "invalid access token"


@pytest.mark.parametrize(("forge", "reason"), ATTACKS)
async def test_the_client_is_told_why_without_token_material(
    oidc_provider: OidcProvider, validator: TokenValidator, forge: Forge, reason: str
) -> None:
    token = forge(oidc_provider)
    with pytest.raises(InvalidToken) as caught:
        await validator.validate(token)
    challenge = bearer_challenge("citizen-vault", caught.value)
    description = TOKEN_PROBLEM_DESCRIPTIONS[CLIENT_REASONS[reason]]
    assert challenge == (
        f'Bearer realm="citizen-vault", error="invalid_token", error_description="{description}"'
    )
    # nothing of the token: no segment, no key id, no subject
    assert all(part not in challenge for part in token.split(".") if len(part) > 3)
    assert oidc_provider.key_id not in challenge
    assert "citizen-a" not in challenge


async def test_a_production_validator_accepts_the_loopback_provider(
    oidc_provider: OidcProvider, http: httpx.AsyncClient
) -> None:
    # https is required in production, plain http on loopback aside: the test provider is on 127.0.0.1
    policy = TokenPolicy(issuer=oidc_provider.issuer, audience=oidc_provider.audience, require_https=True)
    validator = TokenValidator(policy, JwksCache(oidc_provider.issuer, http, require_https=True))
    assert (await validator.validate(oidc_provider.token("citizen-a"))).subject == "citizen-a"


async def test_the_providers_own_tokens_fit_the_default_lifetime(
    oidc_provider: OidcProvider, validator: TokenValidator
) -> None:
    # the real provider issues 10-minute access tokens: under the 1-hour default, and iat/exp are what we check
    claims = genuine_claims(oidc_provider)
    assert 0 < claims["exp"] - claims["iat"] <= 3600
    assert (await validator.validate(oidc_provider.token("citizen-a"))).subject == "citizen-a"


async def test_unknown_kids_refetch_the_jwks_at_most_once_per_interval(
    oidc_provider: OidcProvider, transport: CountingTransport, http: httpx.AsyncClient
) -> None:
    clock = Clock()
    jwks = JwksCache(oidc_provider.issuer, http, min_refetch_interval=30.0, clock=clock)
    validator = TokenValidator(TokenPolicy(issuer=oidc_provider.issuer, audience=oidc_provider.audience), jwks)
    await validator.validate(oidc_provider.token("citizen-a"))
    assert transport.jwks_fetches == 1
    for _ in range(5):
        with pytest.raises(InvalidToken):
            await validator.validate(own_key("rotated-kid")(oidc_provider))
    assert transport.jwks_fetches == 1  # within the interval: no re-fetch at all
    clock.now += 31
    for _ in range(5):
        with pytest.raises(InvalidToken):
            await validator.validate(own_key("rotated-kid")(oidc_provider))
    assert transport.jwks_fetches == 2  # one re-fetch for five unknown kids
    assert transport.paths.count("/.well-known/openid-configuration") == 1
    # a genuine token still passes from the cached set
    assert (await validator.validate(oidc_provider.token("auditor"))).roles == frozenset({"auditor"})
    assert transport.jwks_fetches == 2


async def test_a_provider_that_is_down_is_unavailable(oidc_provider: OidcProvider, http: httpx.AsyncClient) -> None:
    issuer = f"http://127.0.0.1:{free_port()}"
    validator = TokenValidator(
        TokenPolicy(issuer=issuer, audience=oidc_provider.audience),
        JwksCache(issuer, http),
    )
    with pytest.raises(ProviderUnavailable) as caught:
        await validator.validate(oidc_provider.token("citizen-a"))
    assert caught.value.detail == "identity provider unavailable"


async def test_a_provider_answering_for_another_issuer_is_unavailable(
    oidc_provider: OidcProvider, http: httpx.AsyncClient
) -> None:
    issuer = oidc_provider.issuer + "/"  # discovery answers with the issuer without the slash
    validator = TokenValidator(
        TokenPolicy(issuer=issuer, audience=oidc_provider.audience),
        JwksCache(issuer, http),
    )
    with pytest.raises(ProviderUnavailable):
        await validator.validate(oidc_provider.token("citizen-a"))
