"""OIDC for the citizen vault: bearer-token validation, principals and roles, and a development provider.

A library: it knows nothing of the vault, of HTTP frameworks, of storage or signing. Every error it raises
derives from `AuthError` and carries a client-safe `detail`.
"""

from auth._authorization import AuthorizationRequest, AuthorizationResponse, s256
from auth._dev_provider import DEV_USER_GRANT_TYPE, DevIdentityProvider
from auth._dev_users import DEMO_USERS, DemoUser
from auth._errors import (
    AuthError,
    AuthorizationRequestError,
    DevProviderRefused,
    InvalidToken,
    ProviderUnavailable,
)
from auth._jwks import JwksCache
from auth._policy import Principal, TokenPolicy
from auth._validator import TokenValidator, claim_at_path

__all__ = (
    "DEMO_USERS",
    "DEV_USER_GRANT_TYPE",
    "AuthError",
    "AuthorizationRequest",
    "AuthorizationRequestError",
    "AuthorizationResponse",
    "DemoUser",
    "DevIdentityProvider",
    "DevProviderRefused",
    "InvalidToken",
    "JwksCache",
    "Principal",
    "ProviderUnavailable",
    "TokenPolicy",
    "TokenValidator",
    "claim_at_path",
    "s256",
)
