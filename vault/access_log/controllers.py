"""The citizen's access log API."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from vault.access_log.schemas import AccessLogPage
from vault.access_log.service import AccessLogService
from vault.core.principal import Caller
from vault.http.params import Limit, LogPosition
from vault.http.security import require_roles

__all__ = ("AccessLogController",)


class AccessLogController(Controller):
    """Every event touching the caller's data."""

    path = "/api/v1/me/access-log"
    tags = ["me"]

    @get("/", guards=[require_roles("citizen")])
    async def access_log(
        self,
        request: Request[Caller, Any, Any],
        access_log: NamedDependency[AccessLogService],
        cursor: Annotated[int | None, QueryParameter(ge=0, le=2**53)] = None,
        limit: Limit = 50,
    ) -> AccessLogPage:
        """Who did what to the caller's data, when, under which grant, request or link and purpose; newest first."""
        return await access_log.for_owner(request.user, cursor, limit)

    @get("/{seq:int}/receipt", guards=[require_roles("citizen")])
    async def receipt(
        self,
        request: Request[Caller, Any, Any],
        access_log: NamedDependency[AccessLogService],
        seq: LogPosition,
    ) -> dict[str, Any]:
        """Entry `seq` of the caller's access log as a receipt: the entry, the latest signed checkpoint and the
        inclusion proof between them; `vault audit verify-receipt RECEIPT --key KEY` checks it offline."""
        return await access_log.receipt(request.user, seq)
