"""`GET /api/v1/me`: the caller's profile."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get

from vault.core.principal import Caller

__all__ = ("Me", "MeController")


class Me(msgspec.Struct, frozen=True):
    """The authenticated caller."""

    subject: str
    issuer: str
    roles: list[str]
    agency: str | None
    client_id: str | None


class MeController(Controller):
    path = "/api/v1/me"
    tags = ["me"]

    @get("/")
    async def me(self, request: Request[Caller, Any, Any]) -> Me:
        """Who the token says the caller is."""
        caller = request.user
        return Me(
            subject=caller.subject,
            issuer=caller.issuer,
            roles=sorted(caller.roles),
            agency=caller.agency,
            client_id=caller.client_id,
        )
