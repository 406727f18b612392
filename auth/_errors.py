"""The exception root of the `auth` package: every error carries a client-safe `detail`."""

from __future__ import annotations

__all__ = (
    "AuthError",
    "AuthorizationRequestError",
    "DevProviderRefused",
    "InvalidToken",
    "ProviderUnavailable",
)


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

    The detail is always the same generic phrase; the reason is logged by the caller from `reason`.

    Attributes:
        reason: Which check failed (`algorithm`, `type`, `unknown kid`, `signature`, `expired_token: exp`,
            `invalid_claim: aud`, ...), for server-side logs only. Never send it to the client.
    """

    default_detail = "invalid access token"

    def __init__(self, reason: str = "invalid") -> None:
        super().__init__(self.default_detail)
        self.reason = reason


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
