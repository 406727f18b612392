"""The identity provider's signing keys: OIDC discovery, JWKS fetching, rate-limited re-fetch on rotation."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from auth._errors import ProviderUnavailable
from auth._urls import is_secure_url

__all__ = ("JwksCache",)

log = logging.getLogger(__name__)

_MAX_DOCUMENT_BYTES = 512 * 1024


class JwksCache:
    """Keys of one OpenID provider, found through `{issuer}/.well-known/openid-configuration`.

    The key set is fetched on first use and again after `max_age` seconds. A token with an unknown `kid`
    (the provider rotated its keys) may trigger one extra fetch, at most once per `min_refetch_interval`,
    so a flood of forged `kid`s cannot turn the service into a load generator against the provider.

    Args:
        issuer: The configured issuer; the discovery document must name exactly this issuer.
        http: The client used for discovery and the JWKS (owned by the caller, closed by the caller).
        min_refetch_interval: Least seconds between two fetches triggered by unknown `kid`s.
        max_age: Seconds after which the key set is fetched again on the next use.
        timeout: Seconds allowed for each request, so an unresponsive provider is reported, not waited on.
        clock: Monotonic clock in seconds (replaceable in tests).
        require_https: Refuse a plain-http issuer (at construction) and a plain-http `jwks_uri` in the
            discovery document (as an unavailable provider), loopback aside. Production sets it.

    Raises:
        ValueError: No issuer, or a plain-http one while https is required.
    """

    def __init__(
        self,
        issuer: str,
        http: httpx.AsyncClient,
        min_refetch_interval: float = 30.0,
        *,
        max_age: float = 3600.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        require_https: bool = False,
    ) -> None:
        if not issuer:
            raise ValueError("an issuer is required")
        if require_https and not is_secure_url(issuer):
            raise ValueError("the issuer must be an https URL (plain http only on loopback)")
        self._require_https = require_https
        self._issuer = issuer
        self._http = http
        self._min_refetch_interval = min_refetch_interval
        self._max_age = max_age
        self._timeout = timeout
        self._clock = clock
        self._lock = asyncio.Lock()
        self._jwks_uri: str | None = None
        self._key_set: KeySet | None = None
        self._attempted_at: float | None = None
        self._succeeded_at: float | None = None

    @property
    def issuer(self) -> str:
        """The issuer whose keys these are."""
        return self._issuer

    @property
    def require_https(self) -> bool:
        """Whether plain-http provider URLs (loopback aside) are refused."""
        return self._require_https

    @property
    def discovery_url(self) -> str:
        """Where the discovery document is read from."""
        return f"{self._issuer.rstrip('/')}/.well-known/openid-configuration"

    async def get_key_set(self) -> KeySet:
        """The current key set, fetched when missing or older than `max_age`.

        Raises:
            ProviderUnavailable: The provider could not be reached and no key set is cached.
        """
        async with self._lock:
            key_set = self._key_set
            if key_set is not None and (
                _age(self._succeeded_at, self._clock) < self._max_age
                # after a failed refresh, the stale set is used until the next attempt is due
                or _age(self._attempted_at, self._clock) < self._min_refetch_interval
            ):
                return key_set
            try:
                return await self._fetch()
            except ProviderUnavailable:
                # a stale key set beats an outage: the provider rotates keys far less often than it fails
                if key_set is not None:
                    return key_set
                raise

    async def refresh_for_unknown_kid(self) -> bool:
        """Fetch the key set again because a token named a `kid` we do not know, unless fetched recently.

        Returns:
            True when a fetch happened (the caller may look the `kid` up again), False when rate-limited.

        Raises:
            ProviderUnavailable: The provider could not be reached.
        """
        async with self._lock:
            if _age(self._attempted_at, self._clock) < self._min_refetch_interval:
                return False
            await self._fetch()
            return True

    async def _fetch(self) -> KeySet:
        # the attempt counts for the rate limit even when it fails: an outage must not be hammered either
        self._attempted_at = self._clock()
        if self._jwks_uri is None:
            self._jwks_uri = await self._discover_jwks_uri()
        document = await self._get_json(self._jwks_uri)
        keys = document.get("keys")
        if not isinstance(keys, list):
            raise ProviderUnavailable()
        # only keys meant for signatures; RFC 7517 lets a set mix in encryption keys
        signing_keys = [key for key in keys if isinstance(key, dict) and key.get("use", "sig") == "sig"]
        try:
            key_set = KeySet.import_key_set({"keys": signing_keys})
        except (JoseError, ValueError, TypeError) as exc:
            raise ProviderUnavailable() from exc
        self._key_set = key_set
        self._succeeded_at = self._attempted_at
        return key_set

    async def _discover_jwks_uri(self) -> str:
        document = await self._get_json(self.discovery_url)
        # the discovery document must be about the issuer we trust (OpenID Connect Discovery 1.0, 4.3)
        if document.get("issuer") != self._issuer:
            raise ProviderUnavailable()
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
            raise ProviderUnavailable()
        # keys fetched over plain http can be swapped by anyone on the path: refused where https is required
        if self._require_https and not is_secure_url(jwks_uri):
            log.warning("refusing the provider's jwks_uri %s: https is required", jwks_uri)
            raise ProviderUnavailable()
        return jwks_uri

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self._http.get(
                url, headers={"Accept": "application/json"}, timeout=self._timeout
            )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable() from exc
        if response.status_code != 200 or len(response.content) > _MAX_DOCUMENT_BYTES:
            raise ProviderUnavailable()
        try:
            document = response.json()
        except ValueError as exc:
            raise ProviderUnavailable() from exc
        if not isinstance(document, dict):
            raise ProviderUnavailable()
        return document


def _age(moment: float | None, clock: Callable[[], float]) -> float:
    return float("inf") if moment is None else clock() - moment
