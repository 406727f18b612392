"""What a validated token says about its bearer, and the policy a token must satisfy."""

from __future__ import annotations

from dataclasses import dataclass

from auth._urls import is_secure_url

__all__ = ("DEFAULT_MAX_LIFETIME_SECONDS", "Principal", "TokenPolicy")

_FORBIDDEN_ALGORITHMS = frozenset({"none", "HS256", "HS384", "HS512"})
# one hour: what the npm oidc-provider, Google and Cognito issue by default, 12x Keycloak's 5 minutes; a token
# minted "for years" is refused. Entra ID issues 60-90 minutes: such deployments raise it to 5400.
DEFAULT_MAX_LIFETIME_SECONDS = 3600
_LONGEST_MAX_LIFETIME_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, built from a validated access token.

    Attributes:
        subject: The token's `sub`: stable identifier of the user (or client, for client credentials).
        issuer: The token's `iss`.
        roles: The roles found at the policy's roles claim path (empty when absent or not a list).
        agency: The agency an agency officer acts for, or None.
        client_id: The OAuth client the token was issued to (RFC 9068 `client_id`), or None.
        token_id: The token's `jti`, or None.
        expires_at: The token's `exp` (seconds since the epoch).
        name: The person's name (`name` claim), when the token carries it.
        handle: The identity provider's handle of the person (`preferred_username`, else `email`), if any.
        acr: The authentication context class (assurance level) the provider reports, if any.
    """

    subject: str
    issuer: str
    roles: frozenset[str]
    agency: str | None
    client_id: str | None
    token_id: str | None
    expires_at: int | None
    name: str | None = None
    handle: str | None = None
    acr: str | None = None


@dataclass(frozen=True)
class TokenPolicy:
    """What an access token must satisfy. Every field is explicit; an empty or insecure policy is refused.

    Attributes:
        issuer: The exact `iss` expected (and the discovery base URL).
        audience: A value that must appear in `aud` (a string or a list).
        algorithms: Allowed JWS algorithms. `none` and the HMAC family are never allowed: the keys come
            from a public JWKS, and an HMAC "secret" taken from it is known to everyone.
        leeway_seconds: Clock skew tolerated on `exp`, `nbf` and `iat`.
        accepted_types: Allowed header `typ` values (RFC 9068), compared case-insensitively.
        roles_claim: Dotted path to the list of roles (`roles`, `realm_access.roles`, ...).
        agency_claim: Dotted path to the agency name.
        max_token_bytes: Longer tokens are refused before any parsing.
        max_lifetime_seconds: Longest accepted lifetime, both as issued (`exp - iat`) and as remaining
            (`exp` - now, plus the leeway): a stolen long-lived token is a standing credential.
        require_https: Refuse an issuer that is not `https://` (plain http on loopback aside). Production
            sets it; the key cache must then refuse a plain-http JWKS URL too.
    """

    issuer: str
    audience: str
    algorithms: tuple[str, ...] = ("RS256", "PS256", "ES256", "EdDSA")
    leeway_seconds: int = 30
    accepted_types: tuple[str, ...] = ("at+jwt", "application/at+jwt")
    roles_claim: str = "roles"
    agency_claim: str = "agency"
    max_token_bytes: int = 16384
    max_lifetime_seconds: int = DEFAULT_MAX_LIFETIME_SECONDS
    require_https: bool = False

    def __post_init__(self) -> None:
        if not self.issuer or not self.audience:
            raise ValueError("a token policy needs an issuer and an audience")
        if not self.algorithms:
            raise ValueError("a token policy needs at least one algorithm")
        forbidden = _FORBIDDEN_ALGORITHMS.intersection(self.algorithms)
        if forbidden:
            raise ValueError(f"algorithms not allowed for access tokens: {sorted(forbidden)}")
        if not self.accepted_types:
            raise ValueError("a token policy needs at least one accepted token type")
        if not 0 <= self.leeway_seconds <= 300:
            raise ValueError("leeway_seconds must be between 0 and 300")
        if not self.roles_claim or not self.agency_claim:
            raise ValueError("roles_claim and agency_claim must name a claim")
        if self.max_token_bytes <= 0:
            raise ValueError("max_token_bytes must be positive")
        if not 0 < self.max_lifetime_seconds <= _LONGEST_MAX_LIFETIME_SECONDS:
            raise ValueError("max_lifetime_seconds must be between 1 second and 7 days")
        if self.require_https and not is_secure_url(self.issuer):
            raise ValueError("the issuer must be an https URL (plain http only on loopback)")
