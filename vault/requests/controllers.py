"""Agency requests API: agencies ask, citizens answer."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from vault.core.principal import Caller
from vault.http.params import Limit
from vault.http.security import require_roles
from vault.requests.schemas import ApproveRequest, NewRequest, RequestPage, RequestRead
from vault.requests.service import RequestService

__all__ = ("RequestController",)


class RequestController(Controller):
    """Document requests: create (agency), list (both), approve and deny (the addressed citizen)."""

    path = "/api/v1/requests"
    tags = ["requests"]

    @post("/", guards=[require_roles("agency")], status_code=201)
    async def create_request(
        self, request: Request[Caller, Any, Any], requests: NamedDependency[RequestService], data: JSONBody[NewRequest]
    ) -> RequestRead:
        """Ask a citizen for documents of some kinds, for a purpose under a legal basis, until an expiry."""
        return await requests.create(request.user, data)

    @get("/", guards=[require_roles("citizen", "agency")])
    async def list_requests(
        self,
        request: Request[Caller, Any, Any],
        requests: NamedDependency[RequestService],
        cursor: FromQuery[str | None] = None,
        limit: Limit = 20,
    ) -> RequestPage:
        """Agency officers: their agency's requests; citizens: their inbox. Newest first."""
        return await requests.list_for(request.user, cursor, limit)

    @post("/{request_id:uuid}/approve", guards=[require_roles("citizen")], status_code=200)
    async def approve_request(
        self,
        request: Request[Caller, Any, Any],
        requests: NamedDependency[RequestService],
        request_id: FromPath[uuid.UUID],
        data: JSONBody[ApproveRequest],
    ) -> RequestRead:
        """Share chosen documents with the requesting agency for the request's purpose and expiry."""
        return await requests.approve(request.user, request_id, data)

    @post("/{request_id:uuid}/deny", guards=[require_roles("citizen")], status_code=200)
    async def deny_request(
        self,
        request: Request[Caller, Any, Any],
        requests: NamedDependency[RequestService],
        request_id: FromPath[uuid.UUID],
    ) -> RequestRead:
        """Refuse the request (the agency sees it closed with nothing shared)."""
        return await requests.deny(request.user, request_id)
