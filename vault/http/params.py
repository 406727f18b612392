"""Query parameters shared by listing routes (bounds defined once, documented in OpenAPI)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.params import Parameter, QueryParameter

from vault.core.errors import BadRequest
from vault.core.paging import MAX_PAGE

__all__ = ("MAX_POSITION", "Limit", "LogPosition", "VersionNumber", "reject_unknown_query")

MAX_POSITION = 2**53  # positions and counts fit SQLite's and PostgreSQL's 64-bit integers (and JSON numbers)
Limit = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE, description="page size")]
# path or query integers the database compares: bounded, so a huge number is a 400, never an overflow
LogPosition = Annotated[int, Parameter(ge=0, le=MAX_POSITION, description="position in the audit log")]
VersionNumber = Annotated[int, Parameter(ge=1, le=2**31 - 1, description="a document's version number")]


def _declared(handler: Any) -> frozenset[str]:
    cached: frozenset[str] | None = handler.opt.get("_query_names")
    if cached is None:
        cached = frozenset(handler.parsed_fn_signature.parameters)
        handler.opt["_query_names"] = cached
    return cached


async def reject_unknown_query(request: Request[Any, Any, Any]) -> None:
    """On the JSON API, a query parameter the route does not declare is a 400, never silently ignored (a typo'd
    filter would otherwise return everything)."""
    if not request.query_params or not request.url.path.startswith("/api/"):
        return
    unknown = sorted(set(request.query_params) - _declared(request.route_handler))
    if unknown:
        raise BadRequest(f"unknown query parameter: {', '.join(unknown)[:200]}")
