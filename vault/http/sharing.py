"""Sharing API: grants (owner), documents shared with the caller, and share links (owner; public redemption)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Stream

from vault.http.documents import content_response
from vault.http.security import PUBLIC, require_roles
from vault.principal import Caller
from vault.sharing.grants import GrantService
from vault.sharing.links import LinkService
from vault.sharing.schemas import GrantPage, GrantRead, LinkCreated, LinkRead, NewGrant, NewLink, SharedPage

__all__ = ("GrantController", "LinkController", "ShareLinkController", "SharedController")

Limit = Annotated[int, QueryParameter(ge=1, le=100)]
# The link token is a path segment only so a browser can open it; the access log filter redacts it.
LINK_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


def provide_grants(state: State) -> GrantService:
    return state.grants  # type: ignore[no-any-return]


def provide_links(state: State) -> LinkService:
    return state.links  # type: ignore[no-any-return]


class GrantController(Controller):
    """The owner's grants."""

    path = "/api/v1"
    tags = ["sharing"]
    guards = [require_roles("citizen")]
    dependencies = {"grants": Provide(provide_grants, sync_to_thread=False)}

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
    dependencies = {"grants": Provide(provide_grants, sync_to_thread=False)}

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


class LinkController(Controller):
    """The owner's share links."""

    path = "/api/v1"
    tags = ["sharing"]
    guards = [require_roles("citizen")]
    dependencies = {"links": Provide(provide_links, sync_to_thread=False)}

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
    dependencies = {"links": Provide(provide_links, sync_to_thread=False)}

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
    response = content_response(content, content.title, ranged=False)
    for name, value in LINK_HEADERS.items():
        response.headers[name] = value
    return response
