"""Liveness, readiness and the caller's profile."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, delete, get
from litestar.datastructures import State
from litestar.params import FromQuery

from vault.errors import BadRequest, UpstreamUnavailable
from vault.http.security import PUBLIC, require_roles
from vault.principal import Caller

__all__ = ("MeController", "SystemController")


class Me(msgspec.Struct, frozen=True):
    """The authenticated caller."""

    subject: str
    issuer: str
    roles: list[str]
    agency: str | None
    client_id: str | None


class Health(msgspec.Struct, frozen=True):
    status: str


class Readiness(msgspec.Struct, frozen=True):
    status: str
    checks: dict[str, str]


class SystemController(Controller):
    path = "/"
    tags = ["system"]

    @get("/health", opt=PUBLIC, cache=False)
    async def health(self) -> Health:
        """Liveness: the process answers."""
        return Health(status="ok")

    @get("/ready", opt=PUBLIC, cache=False)
    async def ready(self, state: State) -> Response[Readiness]:
        """Readiness: the database, the object store and the key provider answer (503 otherwise)."""
        checks: dict[str, str] = {}
        for name, check in (
            ("database", state.db.check),
            ("object_store", state.store.check),
            ("key_provider", state.key_service.check_async),
        ):
            try:
                await check()
                checks[name] = "ok"
            except (UpstreamUnavailable, Exception):
                checks[name] = "unavailable"
        ok = all(v == "ok" for v in checks.values())
        return Response(Readiness(status="ok" if ok else "unavailable", checks=checks), status_code=200 if ok else 503)


ERASE_CONFIRMATION = "erase-my-account"


class MeController(Controller):
    path = "/api/v1/me"
    tags = ["me"]

    @get("/")
    async def me(self, request: Request[Caller, Any, Any]) -> Me:
        """Who the token says the caller is."""
        caller = request.user
        return Me(
            subject=caller.subject,
            issuer=caller.issuer,
            roles=sorted(caller.roles),
            agency=caller.agency,
            client_id=caller.client_id,
        )

    @delete("/", guards=[require_roles("citizen")], status_code=204)
    async def erase_account(
        self, request: Request[Caller, Any, Any], state: State, confirm: FromQuery[str | None] = None
    ) -> None:
        """Erase the caller's account and every document in it, irreversibly (`?confirm=erase-my-account`).

        The subject keys are destroyed, so no backup of any document can be read again; audit entries stay,
        verifiable, under a pseudonym nobody can link to the citizen any more.
        """
        if confirm != ERASE_CONFIRMATION:
            raise BadRequest(
                f"erasing an account cannot be undone: repeat the request with ?confirm={ERASE_CONFIRMATION}"
            )
        await state.accounts.erase(request.user)
