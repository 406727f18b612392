"""Bearer-token validation: RFC 9068 JWT access tokens from an OpenID provider, every check spelled out."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from joserfc import jws
from joserfc.errors import ClaimError, InvalidKeyIdError, JoseError, SecurityWarning
from joserfc.jwk import Key, KeySet
from joserfc.jwt import JWTClaimsRegistry

from auth._errors import InvalidToken
from auth._jwks import JwksCache
from auth._policy import Principal, TokenPolicy

__all__ = ("TokenValidator", "claim_at_path")

_REQUIRED_CLAIMS = ("iss", "sub", "aud", "exp", "iat")
DEFAULT_CACHE_SIZE = 10_000


def claim_at_path(claims: dict[str, Any], path: str) -> object:
    """The value at a dotted path (`realm_access.roles`) in a claims object, or None when absent.

    Args:
        claims: Decoded JWT claims.
        path: Dot-separated names; a claim whose own name contains a dot is found too.

    Returns:
        The value found, or None.
    """
    if path in claims:
        return claims[path]
    value: object = claims
    for name in path.split("."):
        if not isinstance(value, dict) or name not in value:
            return None
        value = value[name]
    return value


class TokenValidator:
    """Turns a bearer token into a `Principal`, or raises `InvalidToken`.

    A token that passed every check is remembered by its SHA-256 (never the token itself) with the principal, its
    `exp` and the key that verified it, in a bounded LRU: presenting it again skips the signature and claim checks
    (~1 ms) but still checks `exp` (with the policy's leeway, as the full check does) and that the verifying key is
    still in the provider's current key set, so a key removed by rotation stops its tokens as before. Nothing
    else about a token changes with time once it has passed (`nbf`, `iat` and the lifetime only get further
    behind), and tokens are not revocable otherwise: the cache accepts exactly what the full check accepts.

    Args:
        policy: What the token must satisfy.
        jwks: The provider's keys; its issuer must be the policy's.
        clock: Wall clock in seconds since the epoch (replaceable in tests).
        cache_size: Validated tokens remembered (0: none).
    """

    def __init__(
        self,
        policy: TokenPolicy,
        jwks: JwksCache,
        *,
        clock: Callable[[], float] = time.time,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        if jwks.issuer != policy.issuer:
            raise ValueError("the key cache must belong to the policy's issuer")
        if policy.require_https and not jwks.require_https:
            raise ValueError("the policy requires https: the key cache must require it too")
        self._policy = policy
        self._jwks = jwks
        self._clock = clock
        self._accepted_types = frozenset(t.lower() for t in policy.accepted_types)
        self._registries = {alg: self._registry_for(alg) for alg in policy.algorithms}
        self._cache_size = cache_size
        self._cache: OrderedDict[bytes, tuple[Principal, float, str, Key]] = OrderedDict()

    def _registry_for(self, alg: str) -> jws.JWSRegistry:
        registry = jws.JWSRegistry(algorithms=[alg], strict_check_header=False)
        registry.max_header_length = self._policy.max_token_bytes
        registry.max_payload_length = self._policy.max_token_bytes
        return registry

    async def validate(self, token: str) -> Principal:
        """Validate a bearer token and describe its bearer.

        Args:
            token: The compact JWS from the `Authorization: Bearer` header.

        Returns:
            The principal the token speaks for.

        Raises:
            InvalidToken: Any check failed (the reason is in `InvalidToken.reason`, for logs only).
            ProviderUnavailable: The provider's keys could not be fetched.
        """
        # size first: nothing is decoded from an oversized token
        if not token or len(token) > self._policy.max_token_bytes:
            raise InvalidToken("size")
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        cached = await self._cached(digest)
        if cached is not None:
            return cached
        header = _decode_header(token)
        alg = header.get("alg")
        # allow-listed algorithms only: refuses "none", HS* (public key as HMAC secret), anything unexpected
        if not isinstance(alg, str) or alg not in self._registries:
            raise InvalidToken("algorithm")
        # RFC 9068 typ: an ID token (typ JWT or none) is never accepted as an access token
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in self._accepted_types:
            raise InvalidToken("type")
        # no critical extensions are understood, so any "crit" must be refused (RFC 7515, 4.1.11)
        if "crit" in header:
            raise InvalidToken("crit")
        # keys come from the issuer's JWKS only: "jku", "jwk", "x5u", "x5c" in the header are ignored
        kid = header.get("kid")
        key = await self._key_for(kid, alg)
        claims = self._verified_claims(token, key, alg)
        self._check_claims(claims)
        principal = self._principal(claims)
        if self._cache_size > 0 and isinstance(kid, str):
            self._cache[digest] = (principal, float(claims["exp"]), kid, key)
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return principal

    async def recall(self, token: str) -> Principal | None:
        """The principal of `token` if it passed `validate` before and the cache would still accept it; else
        None, having checked nothing else (the caller then validates in full, or leaves it to what does).

        Args:
            token: The compact JWS from the `Authorization: Bearer` header.
        """
        if not token or len(token) > self._policy.max_token_bytes or self._cache_size <= 0:
            return None
        return await self._cached(hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest())

    async def _cached(self, digest: bytes) -> Principal | None:
        """The principal of a token validated before, while it has not expired and its key is still current."""
        entry = self._cache.get(digest)
        if entry is None:
            return None
        principal, expires_at, kid, key = entry
        # exp as the full check reads it: refused once now - leeway is past it
        if expires_at <= int(self._clock()) - self._policy.leeway_seconds:
            self._cache.pop(digest, None)
            return None
        # the key that verified it must still be the provider's (a rotated-out key fails here, then in full)
        if _find_key(await self._jwks.get_key_set(), kid) is not key:
            self._cache.pop(digest, None)
            return None
        self._cache.move_to_end(digest)
        return principal

    async def _key_for(self, kid: object, alg: str) -> Key:
        # a kid is required: with rotation, "the only key" is ambiguous
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("kid")
        key = _find_key(await self._jwks.get_key_set(), kid)
        # unknown kid: the provider may have rotated; re-fetch once, rate-limited inside the cache
        if key is None and await self._jwks.refresh_for_unknown_kid():
            key = _find_key(await self._jwks.get_key_set(), kid)
        if key is None:
            raise InvalidToken("unknown kid")
        # the key must be a signing key meant for this algorithm (when the JWKS says so)
        try:
            key.check_use("sig")
            key.check_alg(alg)
        except JoseError as exc:
            raise InvalidToken("key use") from exc
        return key

    def _verified_claims(self, token: str, key: Key, alg: str) -> dict[str, Any]:
        # signature over header and payload with that key and exactly the header's (allow-listed) alg
        try:
            with warnings.catch_warnings():
                # joserfc flags "EdDSA" as a deprecated name (RFC 9864); allowing it is this policy's choice
                warnings.simplefilter("ignore", SecurityWarning)
                signed = jws.deserialize_compact(token, key, registry=self._registries[alg])
        except (JoseError, ValueError, TypeError) as exc:
            raise InvalidToken("signature") from exc
        try:
            claims = json.loads(signed.payload)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidToken("payload") from exc
        if not isinstance(claims, dict):
            raise InvalidToken("payload")
        return claims

    def _check_claims(self, claims: dict[str, Any]) -> None:
        policy = self._policy
        registry = JWTClaimsRegistry(
            now=int(self._clock()),
            # exp / nbf / iat checked against the clock with this leeway
            leeway=policy.leeway_seconds,
            # iss: exactly the configured issuer
            iss={"essential": True, "value": policy.issuer},
            # aud: the configured audience, alone or in a list
            aud={"essential": True, "value": policy.audience},
            # sub, exp, iat: present (RFC 9068, 2.2); their types are checked by the registry
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
        )
        try:
            registry.validate(claims)
        except ClaimError as exc:
            raise InvalidToken(f"{exc.error}: {exc.claim}") from exc
        except (JoseError, ValueError, TypeError) as exc:
            raise InvalidToken("claims") from exc
        # the registry tolerates a blank sub; a principal needs a real one
        missing = [name for name in _REQUIRED_CLAIMS if claims.get(name) in (None, "", [])]
        if missing or not isinstance(claims["sub"], str):
            raise InvalidToken(f"missing_claim: {','.join(missing) or 'sub'}")
        self._check_lifetime(float(claims["iat"]), float(claims["exp"]))

    def _check_lifetime(self, issued_at: float, expires_at: float) -> None:
        longest = self._policy.max_lifetime_seconds
        # lifetime as issued: a provider (or a stolen signing key) minting long-lived tokens is refused
        if expires_at - issued_at > longest:
            raise InvalidToken("lifetime")
        # lifetime left: holds even when iat is back-dated to hide a long lifetime
        if expires_at - self._clock() > longest + self._policy.leeway_seconds:
            raise InvalidToken("lifetime")

    def _principal(self, claims: dict[str, Any]) -> Principal:
        roles = claim_at_path(claims, self._policy.roles_claim)
        role_names = [role for role in roles if isinstance(role, str)] if isinstance(roles, list) else []
        agency = claim_at_path(claims, self._policy.agency_claim)
        client_id = claims.get("client_id")
        token_id = claims.get("jti")
        return Principal(
            subject=claims["sub"],
            issuer=claims["iss"],
            # roles: a list of strings at the configured path; anything else means no roles
            roles=frozenset(role_names),
            # agency: a non-empty string, else none
            agency=agency if isinstance(agency, str) and agency else None,
            client_id=client_id if isinstance(client_id, str) else None,
            token_id=token_id if isinstance(token_id, str) else None,
            expires_at=int(claims["exp"]),
            name=_text_claim(claims, "name"),
            handle=_text_claim(claims, "preferred_username") or _text_claim(claims, "email"),
            acr=_text_claim(claims, "acr"),
        )


def _decode_header(token: str) -> dict[str, Any]:
    # compact JWS only: exactly three base64url segments (a JWE has five)
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise InvalidToken("structure")
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidToken("header") from exc
    if not isinstance(header, dict):
        raise InvalidToken("header")
    return header


def _find_key(key_set: KeySet, kid: str) -> Key | None:
    try:
        return key_set.get_by_kid(kid)
    except InvalidKeyIdError:
        return None


def _text_claim(claims: Mapping[str, Any], name: str, limit: int = 255) -> str | None:
    """A short, non-empty string claim, else None (a display value, never used for authorisation)."""
    value = claims.get(name)
    return value[:limit] if isinstance(value, str) and value.strip() else None
