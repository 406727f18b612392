"""Authentication (bearer access tokens, deny by default) and role guards."""

from __future__ import annotations

import contextlib
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

import auth
from vault.errors import Forbidden, Unauthorized, UpstreamUnavailable
from vault.principal import ROLES, Caller

__all__ = (
    "PUBLIC",
    "BearerAuthMiddleware",
    "caller_from_principal",
    "require_roles",
)

# Handlers opt out of authentication only by saying so: `opt=PUBLIC`.
PUBLIC = {"exclude_from_auth": True}


def caller_from_principal(principal: auth.Principal) -> Caller:
    return Caller(
        subject=principal.subject,
        issuer=principal.issuer,
        roles=frozenset(r for r in principal.roles if r in ROLES),
        agency=principal.agency,
        client_id=principal.client_id,
    )


def _bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    header = connection.headers.get("authorization")
    if not header:
        raise Unauthorized("a bearer access token is required")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a bearer access token is required")
    return token.strip()


class BearerAuthMiddleware(AbstractAuthenticationMiddleware):
    """Every request needs a valid access token unless its handler is marked PUBLIC."""

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        validator: auth.TokenValidator = connection.app.state.token_validator
        token = _bearer_token(connection)
        try:
            principal = await validator.validate(token)
        except auth.InvalidToken as exc:
            await _record_denied_token(connection, exc)
            raise Unauthorized("the access token is not valid", invalid_token=True) from exc
        return AuthenticationResult(user=caller_from_principal(principal), auth=None)


async def _record_denied_token(connection: ASGIConnection[Any, Any, Any, Any], exc: auth.InvalidToken) -> None:
    """A presented but invalid token is a denied attempt (no token, subject or claim from it is recorded)."""
    events = getattr(connection.app.state, "events", None)
    if events is None:
        return
    details = {"reason": str(getattr(exc, "reason", "invalid"))[:64], "method": connection.scope.get("method", "")}
    with contextlib.suppress(UpstreamUnavailable):  # the request is refused either way
        await events.append_now(events.event("auth.token", "denied", None, details=details))


def require_roles(*roles: str) -> Any:
    """A guard: the caller must hold one of `roles` (403 otherwise)."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        caller = connection.scope.get("user")
        if not isinstance(caller, Caller):
            raise Unauthorized()
        if not caller.has_role(*roles):
            raise Forbidden(f"this needs the role {' or '.join(roles)}")

    guard.__name__ = f"require_{'_or_'.join(roles)}"
    return guard
