"""OIDC for the citizen vault: bearer-token validation, principals and roles, and a development provider.

A library: it knows nothing of the vault, of HTTP frameworks, of storage or signing. Every error it raises
derives from `AuthError` and carries a client-safe `detail`.
"""

from auth._authorization import AuthorizationRequest, AuthorizationResponse, s256
from auth._browser_login import BrowserLogin, LoginFailed, LoginResult, LoginStart
from auth._challenge import bearer_challenge
from auth._dev_provider import DEV_ACR, DEV_USER_GRANT_TYPE, DevIdentityProvider
from auth._dev_users import DEMO_USERS, DemoUser
from auth._errors import (
    TOKEN_PROBLEM_DESCRIPTIONS,
    AuthError,
    AuthorizationRequestError,
    DevProviderRefused,
    InvalidToken,
    ProviderUnavailable,
    token_problem,
)
from auth._jwks import JwksCache
from auth._policy import DEFAULT_MAX_LIFETIME_SECONDS, Principal, TokenPolicy
from auth._urls import is_loopback_host, is_secure_url
from auth._validator import TokenValidator, claim_at_path

__all__ = (
    "DEFAULT_MAX_LIFETIME_SECONDS",
    "DEMO_USERS",
    "DEV_ACR",
    "DEV_USER_GRANT_TYPE",
    "TOKEN_PROBLEM_DESCRIPTIONS",
    "AuthError",
    "AuthorizationRequest",
    "AuthorizationRequestError",
    "AuthorizationResponse",
    "BrowserLogin",
    "DemoUser",
    "DevIdentityProvider",
    "DevProviderRefused",
    "InvalidToken",
    "JwksCache",
    "LoginFailed",
    "LoginResult",
    "LoginStart",
    "Principal",
    "ProviderUnavailable",
    "TokenPolicy",
    "TokenValidator",
    "bearer_challenge",
    "claim_at_path",
    "is_loopback_host",
    "is_secure_url",
    "s256",
    "token_problem",
)
