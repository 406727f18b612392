"""The exception root of the `auth` package: every error carries a client-safe `detail`."""

from __future__ import annotations

__all__ = (
    "TOKEN_PROBLEM_DESCRIPTIONS",
    "AuthError",
    "AuthorizationRequestError",
    "DevProviderRefused",
    "InvalidToken",
    "ProviderUnavailable",
    "token_problem",
)

# Claim-specific sentences can only follow a good signature (claims are checked after it), so a forger learns
# nothing from them; a legitimate client learns what to fix (refresh, ask for the right audience, ...).
TOKEN_PROBLEM_DESCRIPTIONS: dict[str, str] = {
    "expired": "the access token has expired",
    "not_yet_valid": "the access token is not valid yet",
    "lifetime": "the access token lives longer than this service accepts",
    "audience": "the access token is not meant for this service (wrong audience)",
    "issuer": "the access token comes from an issuer this service does not trust",
    "unknown_key": "the access token is signed with an unknown key",
    "signature": "the access token signature is not valid",
    "type": "the token is not an access token",
    "malformed": "the access token is malformed",
}

_REASON_CLASSES = {
    "expired_token: exp": "expired",
    "invalid_claim: nbf": "not_yet_valid",
    "invalid_claim: iat": "not_yet_valid",
    "lifetime": "lifetime",
    "invalid_claim: aud": "audience",
    "missing_claim: aud": "audience",
    "invalid_claim: iss": "issuer",
    "missing_claim: iss": "issuer",
    "unknown kid": "unknown_key",
    "signature": "signature",
    "key use": "signature",
    "algorithm": "signature",
    "type": "type",
}


def token_problem(reason: str) -> str:
    """The class of a token-validation reason (`InvalidToken.reason`): a key of `TOKEN_PROBLEM_DESCRIPTIONS`.

    Args:
        reason: The check that failed; unknown reasons count as malformed.

    Returns:
        `expired`, `not_yet_valid`, `lifetime`, `audience`, `issuer`, `unknown_key`, `signature`, `type` or
        `malformed`.
    """
    return _REASON_CLASSES.get(reason, "malformed")


class AuthError(Exception):
    """Root of every error raised by `auth`.

    Attributes:
        detail: A message that is safe to show to the client: it never names the check that failed in a
            way that helps an attacker, and never contains a token, a key or provider internals.
    """

    default_detail = "authentication failed"

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.default_detail
        super().__init__(self.detail)


class InvalidToken(AuthError):
    """A bearer token was missing, malformed, forged, expired or meant for someone else (HTTP 401).

    The detail is always the same generic phrase; the reason is logged by the caller from `reason`, and
    `description` is what the client may be told (RFC 6750 `error_description`).

    Attributes:
        reason: Which check failed (`algorithm`, `type`, `unknown kid`, `signature`, `expired_token: exp`,
            `invalid_claim: aud`, `lifetime`, ...), for server-side logs only. Never send it to the client.
        problem: The reason's class, a key of `TOKEN_PROBLEM_DESCRIPTIONS` (fit for a metrics label).
        description: A fixed, client-safe sentence for the reason's class (expired, not yet valid, lifetime
            too long, wrong audience, wrong issuer, unknown key, bad signature, not an access token,
            malformed): never token material, claim values or key ids, and valid as an RFC 6750 quoted string.
    """

    default_detail = "invalid access token"

    def __init__(self, reason: str = "invalid") -> None:
        super().__init__(self.default_detail)
        self.reason = reason
        self.problem = token_problem(reason)
        self.description = TOKEN_PROBLEM_DESCRIPTIONS[self.problem]


class ProviderUnavailable(AuthError):
    """The identity provider's discovery document or JWKS could not be fetched or made no sense (HTTP 503)."""

    default_detail = "identity provider unavailable"


class AuthorizationRequestError(AuthError):
    """An OAuth 2.0 request to the development provider was refused (HTTP 400).

    Attributes:
        error: The RFC 6749 error code (`invalid_request`, `invalid_grant`, `unsupported_grant_type`, ...).
    """

    def __init__(self, error: str, detail: str) -> None:
        super().__init__(detail)
        self.error = error


class DevProviderRefused(AuthError):
    """The development identity provider was asked for in production mode."""

    default_detail = "the development identity provider is refused in production"
