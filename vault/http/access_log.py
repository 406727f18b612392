"""The citizen's access log API."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter

from vault.http.security import require_roles
from vault.principal import Caller
from vault.sharing.access_log import AccessLogService
from vault.sharing.schemas import AccessLogPage

__all__ = ("AccessLogController",)


def provide_access_log(state: State) -> AccessLogService:
    return state.access_log  # type: ignore[no-any-return]


class AccessLogController(Controller):
    """Every event touching the caller's data."""

    path = "/api/v1/me/access-log"
    tags = ["me"]
    dependencies = {"access_log": Provide(provide_access_log, sync_to_thread=False)}

    @get("/", guards=[require_roles("citizen")])
    async def access_log(
        self,
        request: Request[Caller, Any, Any],
        access_log: NamedDependency[AccessLogService],
        cursor: Annotated[int | None, QueryParameter(ge=0)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 50,
    ) -> AccessLogPage:
        """Who did what to the caller's data, when, under which grant, request or link and purpose; newest first."""
        return await access_log.for_owner(request.user, cursor, limit)
