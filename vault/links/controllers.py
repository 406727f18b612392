"""Sharing API: grants (owner), documents shared with the caller, and share links (owner; public redemption)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Stream

from vault.core.principal import Caller
from vault.documents.controllers import content_response
from vault.http.security import PUBLIC, require_roles
from vault.links.schemas import LinkCreated, LinkRead, NewLink
from vault.links.service import LinkService

__all__ = ("LINK_HEADERS", "LinkController", "ShareLinkController")


LINK_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


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


class ShareLinkController(Controller):
    """Redeeming a share link: no login, the token is the credential."""

    path = "/s"
    tags = ["sharing"]
    opt = PUBLIC

    @get("/{token:str}", cache=False, security=[])
    async def open_link(
        self, request: Request[Any, Any, Any], links: NamedDependency[LinkService], token: FromPath[str]
    ) -> Stream:
        """Download the shared document; a password goes in the `X-Link-Password` header."""
        content = await links.open(token, request.headers.get("x-link-password"))
        return _link_response(content)

    @post("/{token:str}", status_code=200, security=[])
    async def open_link_with_form(
        self, request: Request[Any, Any, Any], links: NamedDependency[LinkService], token: FromPath[str]
    ) -> Stream:
        """Download the shared document, the password in a form field `password` (browsers)."""
        form = await request.form()
        password = form.get("password")
        content = await links.open(token, password if isinstance(password, str) else None)
        return _link_response(content)


def _link_response(content: Any) -> Stream:
    response = content_response(content, ranged=False)
    for name, value in LINK_HEADERS.items():
        response.headers[name] = value
    return response
