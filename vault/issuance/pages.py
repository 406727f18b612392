"""An agency officer in the browser issues a signed PDF into a citizen's vault; the citizen is picked from the
directory (people who signed in), and the signature is verified before anything is stored."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.di import NamedDependency

from vault.accounts.directory import AccountDirectory, DirectoryEntry
from vault.core.errors import PayloadTooLarge, UnprocessableContent
from vault.documents.pages import kind_names
from vault.documents.schemas import NewDocument
from vault.issuance.controllers import MAX_ISSUED_BYTES
from vault.issuance.service import IssuanceService
from vault.web.csrf import CSRF_FIELD
from vault.web.forms import read_small_form
from vault.web.i18n import gettext_
from vault.web.login import csrf_refused
from vault.web.portal import Portal, PortalPages

__all__ = ("IssuePages",)

MAX_TITLE = 200


class IssuePages(PortalPages):
    """`/agency/issue`: find the citizen, choose the signed PDF, issue it."""

    path = "/agency/issue"

    @get("/", cache=False)
    async def form(
        self, portal: NamedDependency[Portal], directory: NamedDependency[AccountDirectory]
    ) -> Response[Any]:
        """The form; with `q`, the citizens of the directory whose user name or name contains it."""
        if (refused := portal.refuse("agency")) is not None:
            return refused
        query = portal.request.query_params.get("q", "").strip()[:64]
        people = await _people(directory, portal, query)
        issued = portal.request.query_params.get("issued")
        return _page(portal, query=query, people=people, issued=issued)

    @post("/", status_code=303, request_max_body_size=MAX_ISSUED_BYTES + 64 * 1024)
    async def issue(
        self,
        portal: NamedDependency[Portal],
        directory: NamedDependency[AccountDirectory],
        issuance: NamedDependency[IssuanceService],
    ) -> Response[Any]:
        """Verify the PDF's signatures and put it in the chosen citizen's vault."""
        if (refused := portal.refuse("agency")) is not None:
            return refused
        try:
            form = await read_small_form(portal.request, MAX_ISSUED_BYTES)
        except PayloadTooLarge:
            return _page(portal, errors=[gettext_("The file must be smaller than 50 MB.")], status_code=413)
        if not await portal.csrf_ok(form.fields.get(CSRF_FIELD)):
            return csrf_refused(portal)
        fields = form.fields
        query = fields.get("q", "").strip()[:64]
        citizen = fields.get("citizen", "").strip()
        title = fields.get("title", "").strip()
        kind = fields.get("kind", "")
        people = await _people(directory, portal, query)
        errors: list[str] = []
        fields_wrong: list[str] = []
        chosen = [p for p in await _people(directory, portal, citizen) if p.handle == citizen] if citizen else []
        if not chosen:
            errors.append(gettext_("Choose the citizen from the directory."))
            fields_wrong.append("citizen-1" if people else "q")
        if not title or len(title) > MAX_TITLE or any(ord(c) < 32 for c in title):
            errors.append(gettext_("Enter a title of up to 200 characters."))
            fields_wrong.append("title")
        if kind not in kind_names(portal.settings):
            errors.append(gettext_("Choose the kind of document."))
            fields_wrong.append("kind")
        if form.file is None:
            errors.append(gettext_("Select the signed PDF file."))
            fields_wrong.append("file")
        elif not form.file.startswith(b"%PDF-"):
            errors.append(gettext_("The selected file must be a PDF."))
            fields_wrong.append("file")
        if errors or form.file is None:
            return _page(
                portal,
                query=query,
                people=people,
                values=fields,
                errors=errors,
                error_field=fields_wrong[0] if fields_wrong else None,
                status_code=400,
            )
        meta = NewDocument(title=title, kind=kind, media_type="application/pdf")
        try:
            await issuance.issue(portal.caller, citizen, meta, form.file)
        except UnprocessableContent:
            message = gettext_(
                "The PDF must carry a valid signature from a trusted authority. Sign it with your agency's seal "
                "and try again."
            )
            return _page(
                portal, query=query, people=people, values=fields, errors=[message], file_error=message, status_code=422
            )
        return portal.redirect(f"/agency/issue?issued={citizen}")


async def _people(directory: AccountDirectory, portal: Portal, query: str) -> list[DirectoryEntry]:
    if not query:
        return []
    found = await directory.search(portal.caller, query)
    return [entry for entry in found.items if entry.type == "person"]


def _page(
    portal: Portal,
    *,
    query: str = "",
    people: list[DirectoryEntry] | None = None,
    values: dict[str, str] | None = None,
    errors: list[str] | None = None,
    issued: str | None = None,
    file_error: str | None = None,
    error_field: str | None = None,
    status_code: int = 200,
) -> Response[Any]:
    return portal.render(
        "agency_issue.html",
        status_code=status_code,
        query=query,
        people=people or [],
        values=values or {},
        errors=errors or [],
        issued=issued,
        file_error=file_error,
        error_field=error_field or ("file" if file_error else None),
        kinds=kind_names(portal.settings),
    )
