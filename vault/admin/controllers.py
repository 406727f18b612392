"""Operator actions over HTTP (role `admin`)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from vault.admin.service import LegalHoldService
from vault.core.principal import Caller
from vault.http.security import require_roles

__all__ = ("AdminController",)


class LegalHold(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Whether the account is held, and why (recorded in the audit log as the purpose)."""

    hold: bool
    reason: Annotated[str, msgspec.Meta(min_length=3, max_length=200)]


class LegalHoldRead(msgspec.Struct, frozen=True):
    subject: str
    hold: bool


class AdminController(Controller):
    path = "/api/v1/admin"
    tags = ["admin"]
    guards = [require_roles("admin")]

    @put("/legal-holds/{subject:str}")
    async def legal_hold(
        self,
        request: Request[Caller, Any, Any],
        legal_holds: NamedDependency[LegalHoldService],
        subject: FromPath[str],
        data: JSONBody[LegalHold],
    ) -> LegalHoldRead:
        """Place or lift a legal hold on a citizen's account: while held, neither documents nor the account can
        be erased."""
        hold = await legal_holds.set(request.user, subject, data.hold, data.reason)
        return LegalHoldRead(subject=subject, hold=hold)
