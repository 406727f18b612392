"""`GET /api/v1/me`: the caller's profile."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from vault.accounts.directory import AccountDirectory, DirectoryPage
from vault.core.principal import Caller
from vault.http.security import require_roles

__all__ = ("Me", "MeController", "directory_search")


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


@get("/api/v1/directory", tags=["directory"], guards=[require_roles("citizen", "agency", "auditor", "admin")])
async def directory_search(
    request: Request[Caller, Any, Any],
    directory: NamedDependency[AccountDirectory],
    q: Annotated[str, QueryParameter(min_length=2, max_length=64, description="part of a handle, name or agency")],
) -> DirectoryPage:
    """People and agencies to share with or request from, by the identity provider's handle or name."""
    return await directory.search(request.user, q)
