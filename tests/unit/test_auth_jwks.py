"""JwksCache: discovery, issuer pinning, key rotation, rate-limited re-fetch, outages (fake HTTP, clock)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from joserfc.jwk import ECKey

from auth import JwksCache, ProviderUnavailable

ISSUER = "https://idp.example/realms/citizens"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeIdp:
    """Answers discovery and JWKS; its behaviour can be changed between requests."""

    def __init__(self) -> None:
        self.discovery: Any = {"issuer": ISSUER, "jwks_uri": f"{ISSUER}/certs"}
        self.keys = [_key("k1")]
        self.down: bool | str = False
        self.jwks_status = 200
        self.jwks_body: bytes | None = None
        self.requests: list[str] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request.url.path)
        if self.down == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.url.path.endswith("/.well-known/openid-configuration"):
            return httpx.Response(200, json=self.discovery)
        if self.jwks_body is not None:
            return httpx.Response(self.jwks_status, content=self.jwks_body)
        return httpx.Response(self.jwks_status, json={"keys": [key.as_dict() for key in self.keys]})

    @property
    def jwks_fetches(self) -> int:
        return sum(path.endswith("/certs") for path in self.requests)


def _key(kid: str) -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": kid, "use": "sig"}, private=False)


def kids(key_set: Any) -> set[str]:
    return {key.kid for key in key_set}


@pytest.fixture
def idp() -> FakeIdp:
    return FakeIdp()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def make_cache(idp: FakeIdp, clock: Clock) -> AsyncIterator[Callable[..., JwksCache]]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(idp.handler)) as http:

        def make(issuer: str = ISSUER, **options: Any) -> JwksCache:
            return JwksCache(issuer, http, clock=clock, **options)

        yield make


async def test_keys_are_found_through_discovery_and_cached(idp: FakeIdp, make_cache: Callable[..., JwksCache]) -> None:
    cache = make_cache()
    assert kids(await cache.get_key_set()) == {"k1"}
    assert kids(await cache.get_key_set()) == {"k1"}
    assert idp.requests == ["/realms/citizens/.well-known/openid-configuration", "/realms/citizens/certs"]


async def test_unknown_kid_refetch_happens_at_most_once_per_interval(
    idp: FakeIdp, clock: Clock, make_cache: Callable[..., JwksCache]
) -> None:
    cache = make_cache(min_refetch_interval=30.0)
    await cache.get_key_set()
    idp.keys.append(_key("k2"))  # the provider rotates
    clock.now += 10
    assert await cache.refresh_for_unknown_kid() is False
    assert await cache.refresh_for_unknown_kid() is False
    assert kids(await cache.get_key_set()) == {"k1"}
    clock.now += 21
    assert await cache.refresh_for_unknown_kid() is True
    assert kids(await cache.get_key_set()) == {"k1", "k2"}
    assert await cache.refresh_for_unknown_kid() is False
    assert idp.jwks_fetches == 2


async def test_key_set_is_refetched_after_max_age(
    idp: FakeIdp, clock: Clock, make_cache: Callable[..., JwksCache]
) -> None:
    cache = make_cache(max_age=600.0)
    await cache.get_key_set()
    idp.keys = [_key("k2")]
    clock.now += 599
    assert kids(await cache.get_key_set()) == {"k1"}
    clock.now += 2
    assert kids(await cache.get_key_set()) == {"k2"}
    assert idp.jwks_fetches == 2


async def test_stale_keys_are_kept_when_the_provider_fails_after_max_age(
    idp: FakeIdp, clock: Clock, make_cache: Callable[..., JwksCache]
) -> None:
    cache = make_cache(max_age=600.0)
    await cache.get_key_set()
    idp.down = True
    clock.now += 601
    assert kids(await cache.get_key_set()) == {"k1"}
    attempts = len(idp.requests)
    # the failed attempt is not repeated on every request: the stale set serves until the next attempt is due
    clock.now += 29
    assert kids(await cache.get_key_set()) == {"k1"}
    assert await cache.refresh_for_unknown_kid() is False
    assert len(idp.requests) == attempts
    clock.now += 2
    with pytest.raises(ProviderUnavailable):
        await cache.refresh_for_unknown_kid()
    idp.down = False
    idp.keys = [_key("k2")]
    clock.now += 31
    assert kids(await cache.get_key_set()) == {"k2"}


def _break(idp: FakeIdp, how: str) -> None:
    if how in {"down", "timeout"}:
        idp.down = True if how == "down" else how
    elif how == "jwks 500":
        idp.jwks_status = 500
    elif how == "jwks not JSON":
        idp.jwks_body = b"<html>"
    elif how == "jwks without keys":
        idp.jwks_body = b'{"keys": "none"}'
    elif how == "jwks with no usable key":
        idp.jwks_body = b'{"keys": [{"kty": "EC", "use": "enc", "crv": "P-256", "x": "a", "y": "b"}]}'
    elif how == "discovery for another issuer":
        idp.discovery = {"issuer": "https://evil.example", "jwks_uri": f"{ISSUER}/certs"}
    elif how == "discovery without jwks_uri":
        idp.discovery = {"issuer": ISSUER}
    elif how == "discovery not an object":
        idp.discovery = ["issuer", ISSUER]
    elif how == "jwks_uri not http":
        idp.discovery = {"issuer": ISSUER, "jwks_uri": "file:///etc/passwd"}


@pytest.mark.parametrize(
    "how",
    [
        "down",
        "timeout",
        "jwks 500",
        "jwks not JSON",
        "jwks without keys",
        "jwks with no usable key",
        "discovery for another issuer",
        "discovery without jwks_uri",
        "discovery not an object",
        "jwks_uri not http",
    ],
)
async def test_an_unusable_provider_is_unavailable(
    idp: FakeIdp, make_cache: Callable[..., JwksCache], how: str
) -> None:
    _break(idp, how)
    with pytest.raises(ProviderUnavailable) as caught:
        await make_cache().get_key_set()
    assert caught.value.detail == "identity provider unavailable"


async def test_failed_fetches_count_for_the_rate_limit(
    idp: FakeIdp, clock: Clock, make_cache: Callable[..., JwksCache]
) -> None:
    cache = make_cache(min_refetch_interval=30.0)
    await cache.get_key_set()
    idp.down = True
    clock.now += 31
    with pytest.raises(ProviderUnavailable):
        await cache.refresh_for_unknown_kid()
    attempts = len(idp.requests)
    assert await cache.refresh_for_unknown_kid() is False
    assert len(idp.requests) == attempts


async def test_the_issuer_trailing_slash_is_not_doubled(idp: FakeIdp, make_cache: Callable[..., JwksCache]) -> None:
    idp.discovery = {"issuer": ISSUER + "/", "jwks_uri": f"{ISSUER}/certs"}
    await make_cache(ISSUER + "/").get_key_set()
    assert idp.requests[0] == "/realms/citizens/.well-known/openid-configuration"


@pytest.mark.parametrize(
    ("jwks_uri", "accepted"),
    [
        pytest.param(f"{ISSUER}/certs", True, id="https"),
        pytest.param("http://idp.example/realms/citizens/certs", False, id="plain http"),
        pytest.param("http://keycloak:8080/realms/citizens/certs", False, id="plain http, internal name"),
        pytest.param("http://127.0.0.1:8080/certs", True, id="plain http on loopback"),
        pytest.param("http://[::1]:8080/certs", True, id="plain http on IPv6 loopback"),
    ],
)
async def test_a_production_cache_refuses_a_plain_http_jwks_uri(
    idp: FakeIdp, make_cache: Callable[..., JwksCache], jwks_uri: str, accepted: bool
) -> None:
    idp.discovery = {"issuer": ISSUER, "jwks_uri": jwks_uri}
    cache = make_cache(require_https=True)
    if accepted:
        assert kids(await cache.get_key_set()) == {"k1"}
    else:
        with pytest.raises(ProviderUnavailable):
            await cache.get_key_set()
        assert idp.jwks_fetches == 0  # the keys were never fetched over plain http


async def test_a_development_cache_accepts_a_plain_http_jwks_uri(
    idp: FakeIdp, make_cache: Callable[..., JwksCache]
) -> None:
    idp.discovery = {"issuer": ISSUER, "jwks_uri": "http://idp.example/realms/citizens/certs"}
    assert kids(await make_cache().get_key_set()) == {"k1"}


@pytest.mark.parametrize("issuer", ["http://idp.example/realms/citizens", "http://192.168.1.10:8080/realms/x"])
def test_a_production_cache_refuses_a_plain_http_issuer(make_cache: Callable[..., JwksCache], issuer: str) -> None:
    with pytest.raises(ValueError, match="https"):
        make_cache(issuer, require_https=True)
