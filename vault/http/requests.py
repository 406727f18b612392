"""Agency requests API: agencies ask, citizens answer."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from vault.http.security import require_roles
from vault.principal import Caller
from vault.sharing.requests import RequestService
from vault.sharing.schemas import ApproveRequest, NewRequest, RequestPage, RequestRead

__all__ = ("RequestController",)


def provide_requests(state: State) -> RequestService:
    return state.requests  # type: ignore[no-any-return]


class RequestController(Controller):
    """Document requests: create (agency), list (both), approve and deny (the addressed citizen)."""

    path = "/api/v1/requests"
    tags = ["requests"]
    dependencies = {"requests": Provide(provide_requests, sync_to_thread=False)}

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
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
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
