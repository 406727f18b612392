"""The owner's share links API; redeeming a link (`/s/{token}`) is `vault.links.pages`."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from vault.core.principal import Caller
from vault.http.security import require_roles
from vault.links.schemas import LinkCreated, LinkRead, NewLink
from vault.links.service import LinkService

__all__ = ("LinkController",)


class LinkController(Controller):
    """The owner's share links."""

    path = "/api/v1"
    tags = ["sharing"]
    guards = [require_roles("citizen")]

    @post("/documents/{document_id:uuid}/links", status_code=201)
    async def create_link(
        self,
        request: Request[Caller, Any, Any],
        links: NamedDependency[LinkService],
        document_id: FromPath[uuid.UUID],
        data: JSONBody[NewLink],
    ) -> LinkCreated:
        """Create a share link; the response holds its token, shown this once."""
        return await links.create(request.user, document_id, data)

    @get("/links")
    async def list_links(
        self,
        request: Request[Caller, Any, Any],
        links: NamedDependency[LinkService],
        document: FromQuery[uuid.UUID | None] = None,
    ) -> list[LinkRead]:
        """The caller's links (never their tokens), newest first."""
        return await links.list_owned(request.user, document)

    @delete("/links/{link_id:uuid}", status_code=204)
    async def revoke_link(
        self, request: Request[Caller, Any, Any], links: NamedDependency[LinkService], link_id: FromPath[uuid.UUID]
    ) -> None:
        """Revoke a link: its next use answers 410."""
        await links.revoke(request.user, link_id)
