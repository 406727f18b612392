"""Authentication (bearer access tokens, deny by default) and role guards."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import ASGIApp

import auth
from vault.core.errors import Forbidden, Unauthorized, UpstreamUnavailable
from vault.core.principal import ROLES, Caller

__all__ = (
    "PUBLIC",
    "BearerAuthMiddleware",
    "TokenGate",
    "caller_from_principal",
    "require_roles",
)

log = logging.getLogger(__name__)

# Handlers opt out of authentication only by saying so: `opt=PUBLIC`.
PUBLIC = {"exclude_from_auth": True}


def caller_from_principal(principal: auth.Principal) -> Caller:
    return Caller(
        subject=principal.subject,
        issuer=principal.issuer,
        roles=frozenset(r for r in principal.roles if r in ROLES),
        agency=principal.agency,
        client_id=principal.client_id,
        name=principal.name,
        handle=principal.handle,
        acr=principal.acr,
    )


def _bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    header = connection.headers.get("authorization")
    if not header:
        raise Unauthorized("a bearer access token is required")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a bearer access token is required")
    return token.strip()


DenialHook = Callable[[str], Awaitable[None]]
SeenHook = Callable[[Caller], Awaitable[None]]


class TokenGate:
    """What the authentication middleware checks tokens with. Built with the app, armed in its lifespan (the
    validator needs the HTTP client and JWKS cache that only exist while the app runs).

    Attributes:
        validator: the access-token validator.
        on_denied: awaited with the (token-free) reason of each presented but invalid token.
        on_seen: awaited with each authenticated caller (the account directory keeps itself current).
    """

    def __init__(self) -> None:
        self.validator: auth.TokenValidator | None = None
        self.on_denied: DenialHook | None = None
        self.on_seen: SeenHook | None = None

    async def admit(self, principal: auth.Principal) -> Caller:
        """The caller a validated token speaks for, once the directory has seen them."""
        caller = caller_from_principal(principal)
        if self.on_seen is not None:
            try:
                await self.on_seen(caller)
            except UpstreamUnavailable:  # the directory catches up at the next request; this one may not need it
                log.warning("the account directory could not record a sign-in")
        return caller

    async def recall(self, authorization: bytes | None) -> Caller | None:
        """The caller of an `Authorization: Bearer` value whose token was validated before and is still good
        (`auth.TokenValidator.recall`); None for anything else, which is left to `BearerAuthMiddleware`."""
        validator = self.validator
        if validator is None or authorization is None or authorization[:7].lower() != b"bearer ":
            return None
        principal = await validator.recall(authorization[7:].decode("latin-1").strip())
        return None if principal is None else await self.admit(principal)


class BearerAuthMiddleware(AbstractAuthenticationMiddleware):
    """Every request needs a valid access token unless its handler is marked PUBLIC."""

    def __init__(self, app: ASGIApp, gate: TokenGate, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._gate = gate

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        token = _bearer_token(connection)
        validator = self._gate.validator
        if validator is None:
            raise UpstreamUnavailable("the service is starting")
        try:
            principal = await validator.validate(token)
        except auth.InvalidToken as exc:
            if self._gate.on_denied is not None:
                with contextlib.suppress(UpstreamUnavailable):  # the request is refused either way
                    await self._gate.on_denied(str(getattr(exc, "reason", "invalid"))[:64])
            raise Unauthorized("the access token is not valid", invalid_token=exc) from exc
        return AuthenticationResult(user=await self._gate.admit(principal), auth=None)


def require_roles(*roles: str) -> Any:
    """A guard: the caller must hold one of `roles` (403 otherwise). A coroutine function: Litestar runs a
    plain function guard in a worker thread (a thread hop per request for a set lookup)."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        caller = connection.scope.get("user")
        if not isinstance(caller, Caller):
            raise Unauthorized()
        if not caller.has_role(*roles):
            raise Forbidden(f"this needs the role {' or '.join(roles)}")

    guard.__name__ = f"require_{'_or_'.join(roles)}"
    return guard
