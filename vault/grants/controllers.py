"""Sharing API: grants (owner), documents shared with the caller, and share links (owner; public redemption)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from vault.core.principal import Caller
from vault.grants.schemas import GrantPage, GrantRead, NewGrant, SharedPage
from vault.grants.service import GrantService
from vault.http.params import Limit
from vault.http.security import require_roles

__all__ = ("GrantController", "SharedController")


class GrantController(Controller):
    """The owner's grants."""

    path = "/api/v1"
    tags = ["sharing"]
    guards = [require_roles("citizen")]

    @post("/documents/{document_id:uuid}/grants", status_code=201)
    async def create_grant(
        self,
        request: Request[Caller, Any, Any],
        grants: NamedDependency[GrantService],
        document_id: FromPath[uuid.UUID],
        data: JSONBody[NewGrant],
    ) -> GrantRead:
        """Share a document with an agency or a person: permissions (view, download, sign) and an expiry."""
        return await grants.create(request.user, document_id, data)

    @get("/grants")
    async def list_grants(
        self,
        request: Request[Caller, Any, Any],
        grants: NamedDependency[GrantService],
        document: FromQuery[uuid.UUID | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: Limit = 20,
    ) -> GrantPage:
        """The caller's grants (including revoked and expired ones), newest first; `?document=` filters."""
        return await grants.list_owned(request.user, document, cursor, limit)

    @delete("/grants/{grant_id:uuid}", status_code=204)
    async def revoke_grant(
        self, request: Request[Caller, Any, Any], grants: NamedDependency[GrantService], grant_id: FromPath[uuid.UUID]
    ) -> None:
        """Revoke a grant: the grantee's very next request is refused."""
        await grants.revoke(request.user, grant_id)


class SharedController(Controller):
    """What others shared with the caller."""

    path = "/api/v1/shared"
    tags = ["sharing"]

    @get("/", guards=[require_roles("citizen", "agency")])
    async def shared_with_me(
        self,
        request: Request[Caller, Any, Any],
        grants: NamedDependency[GrantService],
        cursor: FromQuery[str | None] = None,
        limit: Limit = 20,
    ) -> SharedPage:
        """Documents shared with the caller (or their agency) under grants in force."""
        return await grants.shared_with(request.user, cursor, limit)
