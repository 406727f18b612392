"""The citizen's vault in the browser: the list, upload, a document's page (versions, download, share links)."""

from __future__ import annotations

import uuid
from typing import Any, Protocol
from urllib.parse import urlencode

from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Stream

from vault.audit.actions import AuditAction
from vault.core.errors import BadRequest, NotFound
from vault.core.principal import Caller
from vault.documents.access import Permission
from vault.documents.controllers import content_response
from vault.documents.schemas import DocumentRead
from vault.documents.service import DocumentService
from vault.documents.uploads import read_upload
from vault.settings import Settings
from vault.web.csrf import CSRF_FIELD
from vault.web.i18n import gettext_
from vault.web.login import csrf_refused
from vault.web.portal import Portal, PortalPages

__all__ = (
    "PREVIEW_HEADERS",
    "PREVIEW_TYPES",
    "DocumentPages",
    "DocumentSection",
    "DocumentSections",
    "document_page",
    "kind_names",
)

# What a browser shows by itself (no SVG: it can carry script), shown in a sandboxed frame of the document page.
PREVIEW_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp"})
# The preview answers under a policy of its own: no script at all, sandboxed even when opened outside the frame,
# and framed only by the portal's own pages.
PREVIEW_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; object-src 'self'; sandbox; "
        "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
    ),
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}


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


class DocumentPages(PortalPages):
    """`/documents`: the signed-in citizen's own documents."""

    path = "/documents"

    @get("/", cache=False)
    async def vault(
        self, portal: NamedDependency[Portal], documents: NamedDependency[DocumentService]
    ) -> Response[Any]:
        """The citizen's documents, newest first, a page at a time; searched by title and filtered by kind
        (a GET form: the search is in the address, so it works without JavaScript and can be bookmarked)."""
        if (refused := portal.refuse("citizen")) is not None:
            return refused
        params = portal.request.query_params
        kinds = kind_names(portal.settings)
        query = (params.get("q") or "").strip()[:200]
        kind = params.get("kind") or ""
        kind = kind if kind in kinds else ""
        cursor = params.get("cursor") or None
        page = await documents.list_owned(portal.caller, cursor, 20, title=query or None, kind=kind or None)
        search = {k: v for k, v in (("q", query), ("kind", kind)) if v}
        return portal.render(
            "documents.html",
            page=page,
            kinds=kinds,
            query=query,
            kind=kind,
            searched=bool(search),
            next_query=urlencode({**search, "cursor": page.next_cursor}) if page.next_cursor else None,
        )

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
        document_sections: NamedDependency[DocumentSections],
        document_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        """A document: what it is, a preview, its versions, download, and the sections of other domains (share
        links, grants, signatures); `?shared=1`, `?revoked=1` say what the action before did."""
        if (refused := portal.refuse("citizen")) is not None:
            return refused
        params = portal.request.query_params
        notice = next((n for n in ("shared", "revoked") if params.get(n) == "1"), None)
        return await document_page(portal, documents, document_sections, document_id, notice=notice)

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
        return await download_response(portal, documents, document_id)

    @get("/{document_id:uuid}/preview", cache=False)
    async def preview(
        self,
        portal: NamedDependency[Portal],
        documents: NamedDependency[DocumentService],
        document_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        """The current version inline, for the sandboxed frame on the document's page (PDFs and images only)."""
        if (refused := portal.refuse("citizen")) is not None:
            return refused
        content = await documents.open_content(
            portal.caller, document_id, permission=Permission.VIEW, action=AuditAction.DOCUMENT_READ
        )
        assert content is not None  # no ETag was given
        if content.media_type not in PREVIEW_TYPES:
            await content.chunks.aclose()
            raise NotFound("this document has no preview")
        response: Stream = content_response(content, False)
        response.headers.update(PREVIEW_HEADERS)
        response.headers["Content-Disposition"] = "inline"
        return response


async def download_response(portal: Portal, documents: DocumentService, document_id: uuid.UUID) -> Response[Any]:
    """The current version of a document the signed-in caller may download (owner or grantee), as a download."""
    content = await documents.open_content(portal.caller, document_id)
    if content is None:  # only for a matching If-None-Match, which the portal never sends
        raise NotFound("no such document")
    response: Stream = content_response(content, False)
    return response


class DocumentSection(Protocol):
    """A part of a document's page that another domain owns (its share links, for one): the composition root
    hands the page every section, so this package imports none of the domains that build on it."""

    async def context(self, caller: Caller, document: DocumentRead) -> dict[str, Any]:
        """What the section adds to the page's template context (given what the document is: its type, its
        size, whether it is the caller's own)."""
        ...


class DocumentSections:
    """Every section of a document's page, in order (one dependency: handlers take `document_sections`)."""

    def __init__(self, *sections: DocumentSection) -> None:
        self._sections = sections

    async def context(self, caller: Caller, document: DocumentRead) -> dict[str, Any]:
        """What all the sections add to the page's template context."""
        context: dict[str, Any] = {}
        for section in self._sections:
            context.update(await section.context(caller, document))
        return context


async def document_page(
    portal: Portal,
    documents: DocumentService,
    sections: DocumentSections,
    document_id: uuid.UUID,
    *,
    errors: list[str] | None = None,
    status_code: int = 200,
    **extra: Any,
) -> Response[Any]:
    """A document's page: what it is, its versions, and each section; `extra` is what the action that led here
    adds (a link created this once)."""
    assert portal.user is not None
    caller = portal.caller
    document = await documents.get(caller, document_id)
    versions = await documents.versions(caller, document_id)
    context = await sections.context(caller, document)
    context.update(extra)
    return portal.render(
        "document.html",
        status_code=status_code,
        document=document,
        versions=list(reversed(versions)),
        errors=errors or [],
        kinds=kind_names(portal.settings),
        previewable=document.media_type in PREVIEW_TYPES,
        **context,
    )
