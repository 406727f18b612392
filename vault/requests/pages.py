"""Agency requests in the browser: an officer asks a citizen for documents; the citizen approves or refuses."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from vault.accounts.directory import AccountDirectory
from vault.core.clock import Clock
from vault.core.errors import UnprocessableContent
from vault.documents.pages import kind_names
from vault.documents.service import DocumentService
from vault.requests.schemas import ApproveRequest, NewRequest
from vault.requests.service import RequestService
from vault.web.i18n import gettext_
from vault.web.portal import Portal, PortalPages

__all__ = ("RequestPages",)

REQUEST_DAYS = (7, 30, 90)


def status_names() -> dict[str, str]:
    """Request states as a person reads them, in the current language."""
    return {
        "pending": gettext_("Waiting for your answer"),
        "approved": gettext_("Approved"),
        "denied": gettext_("Refused"),
        "expired": gettext_("Expired"),
        "open": gettext_("Waiting for the citizen"),
        "closed": gettext_("Answered"),
    }


class RequestPages(PortalPages):
    """`/requests`: a citizen's inbox, an officer's requests."""

    path = "/requests"

    @get("/", cache=False)
    async def requests(
        self,
        portal: NamedDependency[Portal],
        requests: NamedDependency[RequestService],
        documents: NamedDependency[DocumentService],
        directory: NamedDependency[AccountDirectory],
    ) -> Response[Any]:
        """The requests the user received (citizen) or sent (officer), newest first."""
        if (refused := portal.refuse("citizen", "agency")) is not None:
            return refused
        page = await requests.list_for(portal.caller, portal.request.query_params.get("cursor"), 20)
        mine = []
        if portal.caller.has_role("citizen"):
            mine = (await documents.list_owned(portal.caller, None, 100)).items
        citizens = await directory.names(portal.caller.issuer, [r.citizen for r in page.items])  # officers see names
        return portal.render(
            "requests.html",
            page=page,
            documents=mine,
            citizens=citizens,
            statuses=status_names(),
            kinds=kind_names(portal.settings),
        )

    @get("/new", cache=False)
    async def new_request(
        self, portal: NamedDependency[Portal], directory: NamedDependency[AccountDirectory]
    ) -> Response[Any]:
        """The officer's form: whom to ask (found in the directory with `q`), for what, why, on what legal basis,
        until when."""
        if (refused := portal.refuse("agency")) is not None:
            return refused
        query = portal.request.query_params.get("q", "").strip()[:64]
        found = (await directory.search(portal.caller, query)).items if query else []
        people = [entry for entry in found if entry.type == "person"]
        chosen = portal.request.query_params.get("citizen", "").strip()[:64]
        return _form(portal, errors=[], status_code=200, query=query, people=people, citizen=chosen)

    @post("/", status_code=303)
    async def create(
        self, portal: NamedDependency[Portal], requests: NamedDependency[RequestService], clock: NamedDependency[Clock]
    ) -> Response[Any]:
        """Send the request to the citizen."""
        if isinstance(form := await portal.posted_form("agency"), Response):
            return form
        citizen = str(form.get("citizen", "")).strip()
        kinds = [k for k in form.getall("kinds") if k in portal.settings.kinds] if "kinds" in form else []
        purpose = str(form.get("purpose", "")).strip()
        basis = str(form.get("legal_basis", "")).strip()
        days = int(str(form.get("days", "30"))) if str(form.get("days", "30")).isdigit() else 30
        errors = _missing(citizen, kinds, purpose, basis)
        if errors:
            return _form(portal, errors=errors, status_code=400)
        body = NewRequest(
            citizen=citizen,
            kinds=kinds,
            purpose=purpose[:256],
            legal_basis=basis[:256],
            expires_at=clock() + timedelta(days=days if days in REQUEST_DAYS else 30),
        )
        try:
            await requests.create(portal.caller, body)
        except UnprocessableContent:
            return _form(portal, errors=[gettext_("Nobody with that user name uses the vault.")], status_code=422)
        return portal.redirect("/requests")

    @post("/{request_id:uuid}/answer", status_code=303)
    async def answer(
        self,
        portal: NamedDependency[Portal],
        requests: NamedDependency[RequestService],
        request_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        """The citizen approves with the chosen documents (this shares them with the agency), or refuses."""
        if isinstance(form := await portal.posted_form("citizen"), Response):
            return form
        if form.get("answer") == "deny":
            await requests.deny(portal.caller, request_id)
        else:
            chosen = [uuid.UUID(str(d)) for d in form.getall("documents")] if "documents" in form else []
            await requests.approve(portal.caller, request_id, ApproveRequest(documents=chosen))
        return portal.redirect("/requests")


def _missing(citizen: str, kinds: list[str], purpose: str, basis: str) -> list[str]:
    errors = []
    if not citizen:
        errors.append(gettext_("Enter the citizen's user name."))
    if not kinds:
        errors.append(gettext_("Choose at least one kind of document."))
    if not purpose:
        errors.append(gettext_("Say why you need the documents."))
    if not basis:
        errors.append(gettext_("Give the legal basis of the request."))
    return errors


def _form(portal: Portal, *, errors: list[str], status_code: int, **found: Any) -> Response[Any]:
    """The form; `found` is the directory search (`query`, `people`) and the `citizen` picked from it."""
    return portal.render(
        "request_new.html",
        status_code=status_code,
        errors=errors,
        query=found.get("query", ""),
        people=found.get("people", []),
        citizen=found.get("citizen", ""),
        kinds=kind_names(portal.settings),
        request_days=REQUEST_DAYS,
    )
