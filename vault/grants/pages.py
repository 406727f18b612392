"""Sharing a document with an agency or a person from its page: the grants section, the share page (the
directory searched with a GET form, so it works without JavaScript), creating and revoking grants."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from vault.accounts.directory import AccountDirectory, DirectoryEntry
from vault.core.clock import Clock
from vault.core.errors import NotFound, UnprocessableContent
from vault.core.principal import Caller
from vault.documents.schemas import DocumentRead
from vault.documents.service import DocumentService
from vault.grants.schemas import NewGrant, PermissionName
from vault.grants.service import GrantService
from vault.web.i18n import gettext_
from vault.web.portal import Portal, PortalPages

__all__ = ("GRANT_DAYS", "GrantPages", "GrantSection")

GRANT_DAYS = (7, 30, 90, 365)
PERMISSIONS: tuple[PermissionName, ...] = ("view", "download", "sign")


def _permission_names() -> dict[str, str]:
    return {
        "view": gettext_("See its title and details"),
        "download": gettext_("Download it"),
        "sign": gettext_("Sign it"),
    }


class GrantSection:
    """On the owner's document page: who the document is shared with, each with a revoke button."""

    def __init__(self, grants: GrantService, directory: AccountDirectory) -> None:
        self._grants = grants
        self._directory = directory

    async def context(self, caller: Caller, document: DocumentRead) -> dict[str, Any]:
        if not document.owned:
            return {"grants": None}
        page = await self._grants.list_owned(caller, document.id, None, 100)
        people = await self._directory.names(
            caller.issuer, [g.grantee for g in page.items if g.grantee_type == "person"]
        )
        rows = []
        for grant in page.items:
            person = people.get(grant.grantee)
            who = grant.grantee if person is None else (person.name or person.handle)
            rows.append({"grant": grant, "who": who})
        return {"grants": rows, "permission_names": _permission_names()}


async def _matches(directory: AccountDirectory, caller: Caller, who: str) -> list[DirectoryEntry]:
    if len(who) < 2:
        return []
    found = await directory.search(caller, who)
    return [entry for entry in found.items if not (entry.type == "person" and entry.handle == caller.handle)]


class GrantPages(PortalPages):
    """`/documents/{id}/grants`: share with an agency or a person, and revoke."""

    path = "/documents/{document_id:uuid}/grants"

    async def _page(
        self,
        portal: Portal,
        documents: DocumentService,
        directory: AccountDirectory,
        document_id: uuid.UUID,
        who: str,
        *,
        status_code: int = 200,
        errors: list[tuple[str, str]] | None = None,
        values: dict[str, Any] | None = None,
    ) -> Response[Any]:
        document = await documents.get(portal.caller, document_id)
        if not document.owned:
            raise NotFound("no such document")
        return portal.render(
            "share.html",
            status_code=status_code,
            document=document,
            who=who,
            matches=await _matches(directory, portal.caller, who),
            days=GRANT_DAYS,
            permissions=_permission_names(),
            errors=[message for _, message in errors or []],
            error_fields=dict(errors or []),
            error_target=(errors or [("who", "")])[0][0],
            values=values or {"permissions": ["view", "download"], "days": "30", "grantee": "", "purpose": ""},
        )

    @get("/new", cache=False)
    async def share_form(
        self,
        portal: NamedDependency[Portal],
        documents: NamedDependency[DocumentService],
        directory: NamedDependency[AccountDirectory],
        document_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        """Search the directory (`?who=`), then pick an agency or a person, what they may do and for how long."""
        if (refused := portal.refuse("citizen")) is not None:
            return refused
        who = (portal.request.query_params.get("who") or "").strip()[:64]
        return await self._page(portal, documents, directory, document_id, who)

    @post("/", status_code=200)
    async def share(
        self,
        portal: NamedDependency[Portal],
        documents: NamedDependency[DocumentService],
        directory: NamedDependency[AccountDirectory],
        grants: NamedDependency[GrantService],
        clock: NamedDependency[Clock],
        document_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        """Create the grant; back to the document's page, which lists it."""
        if isinstance(form := await portal.posted_form("citizen"), Response):
            return form
        who = str(form.get("who", "")).strip()[:64]
        grantee = str(form.get("grantee", ""))
        chosen = [p for p in PERMISSIONS if p in form.getall("permissions", [])]
        days = str(form.get("days", ""))
        purpose = str(form.get("purpose", "")).strip()
        values = {"grantee": grantee, "permissions": chosen, "days": days, "purpose": purpose}
        errors: list[tuple[str, str]] = []
        kind, _, name = grantee.partition(":")
        if kind not in ("agency", "person") or not name:
            errors.append(("who", gettext_("Find and choose who to share the document with.")))
        if not chosen:
            errors.append(("permissions", gettext_("Choose what they may do with the document.")))
        if not days.isdigit() or int(days) not in GRANT_DAYS:
            errors.append(("days", gettext_("Choose how long they may use the document.")))
        if len(purpose) > 256:
            errors.append(("purpose", gettext_("The purpose must be 256 characters or fewer.")))
        if not errors:
            body = NewGrant(
                permissions=chosen,
                expires_at=clock() + timedelta(days=int(days)),
                agency=name if kind == "agency" else None,
                subject=name if kind == "person" else None,
                purpose=purpose or None,
            )
            try:
                await grants.create(portal.caller, document_id, body)
            except UnprocessableContent:
                errors.append(("who", gettext_("You cannot share with them: they are not known to the vault.")))
        if errors:
            return await self._page(
                portal, documents, directory, document_id, who, status_code=422, errors=errors, values=values
            )
        return portal.redirect(f"/documents/{document_id}?shared=1#grants")

    @post("/{grant_id:uuid}/revoke", status_code=303)
    async def revoke(
        self,
        portal: NamedDependency[Portal],
        grants: NamedDependency[GrantService],
        document_id: FromPath[uuid.UUID],
        grant_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        """Revoke a grant: the grantee's next request is refused."""
        if isinstance(form := await portal.posted_form("citizen"), Response):
            return form
        await grants.revoke(portal.caller, grant_id)
        return portal.redirect(f"/documents/{document_id}?revoked=1#grants")
