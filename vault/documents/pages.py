"""The citizen's vault in the browser: the list, upload, a document's page (versions, download, share links)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Stream

from vault.core.clock import Clock
from vault.core.errors import BadRequest, NotFound
from vault.documents.controllers import content_response
from vault.documents.service import DocumentService
from vault.documents.uploads import read_upload
from vault.links.schemas import LinkCreated, NewLink
from vault.links.service import LinkService
from vault.settings import Settings
from vault.web.csrf import CSRF_FIELD
from vault.web.i18n import gettext_
from vault.web.login import csrf_refused
from vault.web.portal import Portal, provide_portal

__all__ = ("DocumentPages", "kind_names")

LINK_DAYS = (1, 7, 30)


def kind_names(settings: Settings) -> dict[str, str]:
    """The configured document kinds, in their configured order, as a person reads them (current language)."""
    known = {
        "birth-certificate": gettext_("Birth certificate"),
        "marriage-certificate": gettext_("Marriage certificate"),
        "identity": gettext_("Identity document"),
        "passport": gettext_("Passport"),
        "residence-permit": gettext_("Residence permit"),
        "permit": gettext_("Permit"),
        "diploma": gettext_("Diploma"),
        "transcript": gettext_("Transcript"),
        "contract": gettext_("Contract"),
        "payslip": gettext_("Payslip"),
        "tax-assessment": gettext_("Tax assessment"),
        "tax-clearance": gettext_("Tax clearance"),
        "health": gettext_("Health"),
        "insurance": gettext_("Insurance"),
        "property": gettext_("Property"),
        "vehicle": gettext_("Vehicle"),
        "certificate": gettext_("Certificate"),
        "other": gettext_("Other"),
    }
    order = [k.strip() for k in settings.document_kinds.split(",") if k.strip()]
    return {kind: known.get(kind) or kind.replace("-", " ").capitalize() for kind in order}


class DocumentPages(Controller):
    """`/documents`: the signed-in citizen's own documents."""

    path = "/documents"
    opt = {"exclude_from_auth": True}  # the portal's session, not a bearer token, says who this is
    include_in_schema = False
    dependencies = {"portal": Provide(provide_portal)}

    @get("/", cache=False)
    async def vault(
        self, portal: NamedDependency[Portal], documents: NamedDependency[DocumentService]
    ) -> Response[Any]:
        """The citizen's documents, newest first, a page at a time."""
        if (refused := portal.refuse("citizen")) is not None:
            return refused
        cursor = portal.request.query_params.get("cursor")
        page = await documents.list_owned(portal.caller, cursor, 20)
        return portal.render("documents.html", page=page, kinds=kind_names(portal.settings))

    @get("/new", cache=False)
    async def upload_form(self, portal: NamedDependency[Portal]) -> Response[Any]:
        """The upload form."""
        if (refused := portal.refuse("citizen")) is not None:
            return refused
        return portal.render("upload.html", kinds=kind_names(portal.settings), errors=[])

    @post("/", status_code=303, request_max_body_size=None)
    async def upload(
        self, portal: NamedDependency[Portal], documents: NamedDependency[DocumentService]
    ) -> Response[Any]:
        """Stream the chosen file into the vault (never spooled to disk), then show its page."""
        if (refused := portal.refuse("citizen")) is not None:
            return refused
        fields: dict[str, str] = {}
        try:
            meta, content = await read_upload(portal.request, form_fields=fields)
        except BadRequest:
            message = gettext_("Choose a file to upload.")
            return portal.render("upload.html", status_code=400, kinds=kind_names(portal.settings), errors=[message])
        if not await portal.csrf_ok(fields.get(CSRF_FIELD)):  # checked before a byte of the file is stored
            return csrf_refused(portal)
        created = await documents.upload(portal.caller, meta, content)
        return portal.redirect(f"/documents/{created.id}")

    @get("/{document_id:uuid}", cache=False)
    async def document(
        self,
        portal: NamedDependency[Portal],
        documents: NamedDependency[DocumentService],
        links: NamedDependency[LinkService],
        document_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        """A document: what it is, its versions, download, and its share links."""
        if (refused := portal.refuse("citizen")) is not None:
            return refused
        return await _document_page(portal, documents, links, document_id)

    @get("/{document_id:uuid}/download", cache=False)
    async def download(
        self,
        portal: NamedDependency[Portal],
        documents: NamedDependency[DocumentService],
        document_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        """The document's current version, as a download."""
        if (refused := portal.refuse("citizen")) is not None:
            return refused
        content = await documents.open_content(portal.caller, document_id)
        if content is None:  # only for a matching If-None-Match, which this page never sends
            raise NotFound("no such document")
        response: Stream = content_response(content, False)
        return response

    @post("/{document_id:uuid}/links", status_code=200)
    async def create_link(
        self,
        portal: NamedDependency[Portal],
        documents: NamedDependency[DocumentService],
        links: NamedDependency[LinkService],
        clock: NamedDependency[Clock],
        document_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        """Create a share link; its address is shown on the page this once."""
        if (refused := portal.refuse("citizen")) is not None:
            return refused
        form = await portal.request.form()
        if not await portal.csrf_ok(form.get(CSRF_FIELD)):
            return csrf_refused(portal)
        errors: list[str] = []
        try:
            days = int(str(form.get("days", "7")))
            downloads = int(str(form.get("downloads", "1")))
            password = str(form.get("password", "")) or None
            if days not in LINK_DAYS or not 1 <= downloads <= 100:
                raise ValueError
            if password is not None and len(password) < 8:
                errors.append(gettext_("The password must be at least 8 characters long."))
        except ValueError:
            errors.append(gettext_("Choose how long the link works and how many downloads it allows."))
        if errors:
            return await _document_page(portal, documents, links, document_id, errors=errors, status_code=400)
        body = NewLink(expires_at=clock() + timedelta(days=days), max_downloads=downloads, password=password)
        created = await links.create(portal.caller, document_id, body)
        return await _document_page(portal, documents, links, document_id, created=created)

    @post("/{document_id:uuid}/links/{link_id:uuid}/revoke", status_code=303)
    async def revoke_link(
        self,
        portal: NamedDependency[Portal],
        links: NamedDependency[LinkService],
        document_id: FromPath[uuid.UUID],
        link_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        """Withdraw a share link: its next use answers 410."""
        if (refused := portal.refuse("citizen")) is not None:
            return refused
        form = await portal.request.form()
        if not await portal.csrf_ok(form.get(CSRF_FIELD)):
            return csrf_refused(portal)
        await links.revoke(portal.caller, link_id)
        return portal.redirect(f"/documents/{document_id}#links")


async def _document_page(
    portal: Portal,
    documents: DocumentService,
    links: LinkService,
    document_id: uuid.UUID,
    *,
    created: LinkCreated | None = None,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response[Any]:
    assert portal.user is not None
    caller = portal.caller
    document = await documents.get(caller, document_id)
    versions = await documents.versions(caller, document_id)
    owned_links = await links.list_owned(caller, document_id)
    return portal.render(
        "document.html",
        status_code=status_code,
        document=document,
        versions=list(reversed(versions)),
        links=owned_links,
        created=created,
        errors=errors or [],
        kinds=kind_names(portal.settings),
        link_days=LINK_DAYS,
    )
