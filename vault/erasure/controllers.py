"""`DELETE /api/v1/me`: a citizen erases their account."""

from __future__ import annotations

from typing import Any

from litestar import Request, delete
from litestar.di import NamedDependency
from litestar.params import FromQuery

from vault.core.errors import BadRequest
from vault.core.principal import Caller
from vault.erasure.service import ERASE_CONFIRMATION, AccountErasure
from vault.http.security import require_roles

__all__ = ("erase_account",)


@delete("/api/v1/me", guards=[require_roles("citizen")], status_code=204, tags=["me"])
async def erase_account(
    request: Request[Caller, Any, Any],
    erasure: NamedDependency[AccountErasure],
    confirm: FromQuery[str | None] = None,
) -> None:
    """Erase the caller's account and every document in it, irreversibly (`?confirm=erase-my-account`).

    The subject keys are destroyed, so no backup of any document can be read again; audit entries stay,
    verifiable, under a pseudonym nobody can link to the citizen any more.
    """
    if confirm != ERASE_CONFIRMATION:
        raise BadRequest(f"erasing an account cannot be undone: repeat the request with ?confirm={ERASE_CONFIRMATION}")
    await erasure.erase(request.user)
