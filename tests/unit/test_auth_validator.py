"""TokenValidator and TokenPolicy: every check, one table row each, against a fake JWKS (no network)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import warnings
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey

from auth import InvalidToken, JwksCache, Principal, TokenPolicy, TokenValidator, claim_at_path

ISSUER = "https://idp.example/realms/citizens"
AUDIENCE = "citizen-vault"
NOW = 1_800_000_000


class FakeIdp:
    """Discovery + JWKS over httpx.MockTransport, counting JWKS requests."""

    def __init__(self) -> None:
        self.keys: list[Key] = [
            ECKey.generate_key("P-256", parameters={"kid": "ec-1", "use": "sig", "alg": "ES256"}),
            RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "use": "sig", "alg": "RS256"}),
        ]
        self.jwks_requests = 0

    def key(self, kid: str) -> Key:
        return next(key for key in self.keys if key.kid == kid)

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/.well-known/openid-configuration"):
            return httpx.Response(200, json={"issuer": ISSUER, "jwks_uri": f"{ISSUER}/certs"})
        self.jwks_requests += 1
        return httpx.Response(200, json={"keys": [key.as_dict(private=False) for key in self.keys]})


def claims(**changes: Any) -> dict[str, Any]:
    base = {
        "iss": ISSUER,
        "sub": "user-1",
        "aud": AUDIENCE,
        "exp": NOW + 300,
        "iat": NOW,
        "jti": "token-1",
        "client_id": "portal",
        "roles": ["citizen"],
        "agency": "tax-office",
    }
    base.update(changes)
    return {name: value for name, value in base.items() if value is not DROP}


DROP = object()


def sign(idp: FakeIdp, body: dict[str, Any], kid: str = "ec-1", **header: Any) -> str:
    key = idp.key(kid)
    alg = header.pop("alg", "ES256" if isinstance(key, ECKey) else "RS256")
    full_header = {"alg": alg, "typ": "at+jwt", "kid": kid, **header}
    return jwt.encode(full_header, body, key, algorithms=[alg])


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture
def idp() -> FakeIdp:
    return FakeIdp()


@pytest.fixture
async def make_validator(idp: FakeIdp) -> AsyncIterator[Callable[..., TokenValidator]]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(idp.handler)) as http:

        def make(**policy: Any) -> TokenValidator:
            jwks = JwksCache(ISSUER, http)
            return TokenValidator(TokenPolicy(issuer=ISSUER, audience=AUDIENCE, **policy), jwks, clock=lambda: NOW)

        yield make


@pytest.fixture
def validator(make_validator: Callable[..., TokenValidator]) -> TokenValidator:
    return make_validator()


async def refused(validator: TokenValidator, token: str) -> InvalidToken:
    with pytest.raises(InvalidToken) as caught:
        await validator.validate(token)
    # the client sees one generic phrase whatever failed
    assert caught.value.detail == "invalid access token"
    assert str(caught.value) == "invalid access token"
    return caught.value


async def test_a_valid_token_gives_its_principal(idp: FakeIdp, validator: TokenValidator) -> None:
    principal = await validator.validate(sign(idp, claims()))
    assert principal == Principal(
        subject="user-1",
        issuer=ISSUER,
        roles=frozenset({"citizen"}),
        agency="tax-office",
        client_id="portal",
        token_id="token-1",
        expires_at=NOW + 300,
    )


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        pytest.param({"exp": NOW - 31}, "expired_token: exp", id="expired beyond leeway"),
        pytest.param({"exp": NOW - 29}, None, id="expired within leeway"),
        pytest.param({"exp": "tomorrow"}, "invalid_claim: exp", id="exp not a number"),
        pytest.param({"nbf": NOW + 31}, "invalid_claim: nbf", id="not yet valid"),
        pytest.param({"nbf": NOW + 29}, None, id="nbf within leeway"),
        pytest.param({"iat": NOW + 31}, "invalid_claim: iat", id="issued in the future"),
        pytest.param({"iss": "https://evil.example"}, "invalid_claim: iss", id="wrong issuer"),
        pytest.param({"iss": ISSUER + "/"}, "invalid_claim: iss", id="issuer with trailing slash"),
        pytest.param({"aud": "other-api"}, "invalid_claim: aud", id="wrong audience"),
        pytest.param({"aud": ["other-api", "more"]}, "invalid_claim: aud", id="audience list without ours"),
        pytest.param({"aud": ["other-api", AUDIENCE]}, None, id="audience list with ours"),
        pytest.param({"iss": DROP}, "missing_claim: iss", id="no iss"),
        pytest.param({"sub": DROP}, "missing_claim: sub", id="no sub"),
        pytest.param({"aud": DROP}, "missing_claim: aud", id="no aud"),
        pytest.param({"exp": DROP}, "missing_claim: exp", id="no exp"),
        pytest.param({"iat": DROP}, "missing_claim: iat", id="no iat"),
        pytest.param({"sub": ""}, "invalid_claim: sub", id="blank sub"),
        pytest.param({"sub": 42}, "invalid_claim: sub", id="sub not a string"),
        pytest.param({"exp": NOW + 3600}, None, id="lifetime of exactly the maximum"),
        pytest.param({"exp": NOW + 3601}, "lifetime", id="lifetime one second over the maximum"),
        pytest.param({"exp": NOW + 10 * 365 * 86400}, "lifetime", id="expiry years away"),
        pytest.param({"iat": NOW - 3000, "exp": NOW + 3000}, "lifetime", id="issued lifetime too long"),
        pytest.param({"iat": NOW + 25, "exp": NOW + 3625}, None, id="remaining lifetime within the leeway"),
        pytest.param({"iat": NOW + 29, "exp": NOW + 3640}, "lifetime", id="remaining lifetime beyond the leeway"),
    ],
)
async def test_claims_are_checked(
    idp: FakeIdp, validator: TokenValidator, changes: dict[str, Any], reason: str | None
) -> None:
    token = sign(idp, claims(**changes))
    if reason is None:
        assert (await validator.validate(token)).subject == "user-1"
    else:
        assert (await refused(validator, token)).reason == reason


def _hs256_with_public_key(idp: FakeIdp) -> str:
    # the classic key-confusion forgery: the public key's PEM used as an HMAC secret
    header = b64(json.dumps({"alg": "HS256", "typ": "at+jwt", "kid": "rsa-1"}).encode())
    payload = b64(json.dumps(claims()).encode())
    secret = idp.key("rsa-1").as_pem(private=False)
    mac = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(mac)}"


def _unsigned(header: dict[str, Any], signature: str = "") -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims()).encode())}.{signature}"


def _tampered(idp: FakeIdp) -> str:
    header, _, signature = sign(idp, claims()).split(".")
    return f"{header}.{b64(json.dumps(claims(roles=['admin'])).encode())}.{signature}"


def _signed_bytes(idp: FakeIdp, payload: bytes, **header: Any) -> str:
    # signs whatever header and payload it is given, with the EC key, bypassing the JOSE library's checks
    full_header = {"alg": "ES256", "typ": "at+jwt", "kid": "ec-1", **header}
    signing_input = f"{b64(json.dumps(full_header).encode())}.{b64(payload)}"
    private_key = idp.key("ec-1").private_key
    assert isinstance(private_key, ec.EllipticCurvePrivateKey)
    r, s = decode_dss_signature(private_key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


HEADER_AND_FORMAT_CASES: list[Any] = [
    pytest.param(lambda idp: _unsigned({"alg": "none", "typ": "at+jwt", "kid": "ec-1"}), "structure", id="alg none"),
    pytest.param(
        lambda idp: _unsigned({"alg": "none", "typ": "at+jwt", "kid": "ec-1"}, "c2ln"),
        "algorithm",
        id="alg none+sig",
    ),
    pytest.param(_hs256_with_public_key, "algorithm", id="HS256 with the public key"),
    pytest.param(
        lambda idp: _unsigned({"alg": "RS384", "typ": "at+jwt", "kid": "rsa-1"}, "c2ln"),
        "algorithm",
        id="alg not allowed",
    ),
    pytest.param(lambda idp: sign(idp, claims(), typ="JWT"), "type", id="typ JWT (an ID token)"),
    pytest.param(lambda idp: sign(idp, claims(), typ="at+jwt+evil"), "type", id="typ unknown"),
    pytest.param(
        lambda idp: _signed_bytes(idp, json.dumps(claims()).encode(), crit=["exp"], exp=1),
        "crit",
        id="crit header",
    ),
    pytest.param(_tampered, "signature", id="tampered payload"),
    pytest.param(
        lambda idp: _signed_bytes(idp, json.dumps(claims()).encode(), kid="rsa-1"),
        "key use",
        id="alg not the key's",
    ),
    pytest.param(lambda idp: _signed_bytes(idp, json.dumps(claims()).encode()), None, id="control: raw signer"),
    pytest.param(lambda idp: _signed_bytes(idp, b"not json"), "payload", id="payload not JSON"),
    pytest.param(lambda idp: _signed_bytes(idp, b"[1, 2]"), "payload", id="payload not an object"),
    pytest.param(lambda idp: "", "size", id="empty"),
    pytest.param(lambda idp: "x" * 16385, "size", id="oversize"),
    pytest.param(lambda idp: "not-a-token", "structure", id="garbage"),
    pytest.param(lambda idp: "a.b.c.d.e", "structure", id="five segments (JWE)"),
    pytest.param(lambda idp: "!!!.e30.c2ln", "header", id="header not base64url"),
    pytest.param(lambda idp: f"{b64(b'[1]')}.e30.c2ln", "header", id="header not an object"),
]


@pytest.mark.parametrize(("forge", "reason"), HEADER_AND_FORMAT_CASES)
async def test_headers_and_format_are_checked(
    idp: FakeIdp, validator: TokenValidator, forge: Callable[[FakeIdp], str], reason: str | None
) -> None:
    if reason is None:  # a control row: the forging helper itself makes acceptable tokens
        assert (await validator.validate(forge(idp))).subject == "user-1"
    else:
        assert (await refused(validator, forge(idp))).reason == reason


async def test_no_kid_header_at_all_is_refused(idp: FakeIdp, validator: TokenValidator) -> None:
    token = jwt.encode({"alg": "ES256", "typ": "at+jwt"}, claims(), idp.key("ec-1"), algorithms=["ES256"])
    assert (await refused(validator, token)).reason == "kid"


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt"])
async def test_rfc9068_types_are_accepted_case_insensitively(idp: FakeIdp, validator: TokenValidator, typ: str) -> None:
    assert (await validator.validate(sign(idp, claims(), typ=typ))).subject == "user-1"


async def test_rs256_and_eddsa_are_accepted(idp: FakeIdp, validator: TokenValidator) -> None:
    idp.keys.append(OKPKey.generate_key("Ed25519", parameters={"kid": "ed-1", "use": "sig"}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        eddsa = sign(idp, claims(sub="ed"), kid="ed-1", alg="EdDSA")
    assert (await validator.validate(eddsa)).subject == "ed"
    assert (await validator.validate(sign(idp, claims(sub="rsa"), kid="rsa-1"))).subject == "rsa"


@pytest.mark.parametrize(
    ("roles_claim", "body", "roles"),
    [
        ("roles", {"roles": ["citizen", "auditor"]}, {"citizen", "auditor"}),
        ("roles", {"roles": "admin"}, set()),
        ("roles", {"roles": ["citizen", 7, None, {"x": 1}]}, {"citizen"}),
        ("roles", {}, set()),
        ("realm_access.roles", {"realm_access": {"roles": ["agency"]}}, {"agency"}),
        ("realm_access.roles", {"realm_access": ["agency"]}, set()),
        ("realm_access.roles", {"realm_access.roles": ["auditor"]}, {"auditor"}),
        ("a.b.c", {"a": {"b": {"c": ["admin"]}}}, {"admin"}),
    ],
)
async def test_roles_come_from_the_dotted_claim_path(
    idp: FakeIdp,
    make_validator: Callable[..., TokenValidator],
    roles_claim: str,
    body: dict[str, Any],
    roles: set[str],
) -> None:
    validator = make_validator(roles_claim=roles_claim)
    principal = await validator.validate(sign(idp, {**claims(roles=DROP), **body}))
    assert principal.roles == frozenset(roles)


@pytest.mark.parametrize(
    ("agency_claim", "body", "agency"),
    [
        ("agency", {"agency": "tax-office"}, "tax-office"),
        ("agency", {"agency": ""}, None),
        ("agency", {"agency": ["tax-office"]}, None),
        ("agency", {}, None),
        ("org.name", {"org": {"name": "city-registry"}}, "city-registry"),
    ],
)
async def test_agency_comes_from_its_claim(
    idp: FakeIdp,
    make_validator: Callable[..., TokenValidator],
    agency_claim: str,
    body: dict[str, Any],
    agency: Any,
) -> None:
    validator = make_validator(agency_claim=agency_claim)
    principal = await validator.validate(sign(idp, {**claims(agency=DROP), **body}))
    assert principal.agency == agency


def test_claim_at_path_finds_nothing_through_non_objects() -> None:
    assert claim_at_path({"a": "text"}, "a.b") is None
    assert claim_at_path({"a": {"b": 1}}, "a.b") == 1


@pytest.mark.parametrize(
    "policy",
    [
        {"algorithms": ()},
        {"algorithms": ("RS256", "none")},
        {"algorithms": ("HS256",)},
        {"algorithms": ("ES256", "HS512")},
        {"accepted_types": ()},
        {"issuer": ""},
        {"audience": ""},
        {"leeway_seconds": -1},
        {"leeway_seconds": 3600},
        {"roles_claim": ""},
        {"max_token_bytes": 0},
        {"max_lifetime_seconds": 0},
        {"max_lifetime_seconds": 8 * 86400},
        {"issuer": "http://idp.example/realms/citizens", "require_https": True},
        {"issuer": "http://10.0.0.5/realms/citizens", "require_https": True},
        {"issuer": "idp.example", "require_https": True},
    ],
)
def test_an_empty_or_insecure_policy_is_refused(policy: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        TokenPolicy(**{"issuer": ISSUER, "audience": AUDIENCE, **policy})


async def test_a_key_cache_for_another_issuer_is_refused() -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(ValueError):
            TokenValidator(TokenPolicy(issuer=ISSUER, audience=AUDIENCE), JwksCache("https://other.example", http))


async def test_a_longer_maximum_lifetime_accepts_longer_tokens(
    idp: FakeIdp, make_validator: Callable[..., TokenValidator]
) -> None:
    token = sign(idp, claims(exp=NOW + 5400))
    assert (await refused(make_validator(), token)).reason == "lifetime"
    assert (await make_validator(max_lifetime_seconds=5400).validate(token)).subject == "user-1"


@pytest.mark.parametrize(
    "issuer", ["https://idp.example/realms/citizens", "http://127.0.0.1:8080/realms/x", "http://localhost:8080"]
)
def test_https_or_loopback_issuers_satisfy_a_production_policy(issuer: str) -> None:
    assert TokenPolicy(issuer=issuer, audience=AUDIENCE, require_https=True).require_https


async def test_a_production_policy_needs_a_key_cache_that_requires_https() -> None:
    policy = TokenPolicy(issuer=ISSUER, audience=AUDIENCE, require_https=True)
    async with httpx.AsyncClient() as http:
        with pytest.raises(ValueError, match="https"):
            TokenValidator(policy, JwksCache(ISSUER, http))
        assert TokenValidator(policy, JwksCache(ISSUER, http, require_https=True))


# ----- the cache of validated tokens ---------------------------------------------------------------------


class Clocks:
    """A wall clock for the validator and a monotonic one for the key cache, moved by hand."""

    def __init__(self) -> None:
        self.wall = float(NOW)
        self.mono = 0.0


@pytest.fixture
async def cached(idp: FakeIdp) -> AsyncIterator[tuple[TokenValidator, Clocks, list[int]]]:
    """A validator with a small cache, hand-moved clocks, and a count of signature verifications."""
    clocks = Clocks()
    async with httpx.AsyncClient(transport=httpx.MockTransport(idp.handler)) as http:
        jwks = JwksCache(ISSUER, http, max_age=60, min_refetch_interval=30, clock=lambda: clocks.mono)
        validator = TokenValidator(
            TokenPolicy(issuer=ISSUER, audience=AUDIENCE), jwks, clock=lambda: clocks.wall, cache_size=2
        )
        verified: list[int] = []
        full_check = validator._verified_claims

        def counting(token: str, key: Key, alg: str) -> dict[str, Any]:
            verified.append(1)
            return full_check(token, key, alg)

        validator._verified_claims = counting  # type: ignore[method-assign]
        yield validator, clocks, verified


async def test_a_validated_token_is_accepted_again_without_verifying_its_signature(
    idp: FakeIdp, cached: tuple[TokenValidator, Clocks, list[int]]
) -> None:
    validator, _, verified = cached
    token = sign(idp, claims())
    first = await validator.validate(token)
    assert await validator.validate(token) == first
    assert len(verified) == 1
    # a token differing in one character of its signature is checked in full, and refused
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert (await refused(validator, tampered)).reason == "signature"


async def test_a_cached_token_is_refused_once_it_expires(
    idp: FakeIdp, cached: tuple[TokenValidator, Clocks, list[int]]
) -> None:
    validator, clocks, _ = cached
    token = sign(idp, claims(exp=NOW + 300))
    await validator.validate(token)
    clocks.wall = NOW + 300 + 29  # within the leeway, as the full check
    assert (await validator.validate(token)).subject == "user-1"
    clocks.wall = NOW + 300 + 30
    assert (await refused(validator, token)).reason == "expired_token: exp"


async def test_a_cached_token_is_refused_once_its_key_is_rotated_out(
    idp: FakeIdp, cached: tuple[TokenValidator, Clocks, list[int]]
) -> None:
    validator, clocks, _ = cached
    token = sign(idp, claims())
    await validator.validate(token)
    idp.keys = [ECKey.generate_key("P-256", parameters={"kid": "ec-2", "use": "sig", "alg": "ES256"})]
    clocks.mono += 61  # the key set is fetched again on its next use
    assert (await refused(validator, token)).reason == "unknown kid"


async def test_the_cache_is_bounded(idp: FakeIdp, cached: tuple[TokenValidator, Clocks, list[int]]) -> None:
    validator, _, verified = cached
    tokens = [sign(idp, claims(jti=f"token-{n}")) for n in range(3)]
    for token in tokens:
        await validator.validate(token)
    await validator.validate(tokens[2])
    await validator.validate(tokens[1])
    assert len(verified) == 3  # the two newest were remembered
    await validator.validate(tokens[0])  # the oldest was dropped: verified again
    assert len(verified) == 4
