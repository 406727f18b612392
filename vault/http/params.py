"""Query parameters shared by listing routes (bounds defined once, documented in OpenAPI)."""

from __future__ import annotations

from typing import Annotated

from litestar.params import QueryParameter

from vault.core.paging import MAX_PAGE

__all__ = ("Limit",)

Limit = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE, description="page size")]
