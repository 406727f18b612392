"""An agency officer in the browser reads what citizens shared with the agency: the list, a document with its
verification report in words, and the download. Every read is recorded in the citizen's access log."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from vault.core.errors import PayloadTooLarge, UnprocessableContent
from vault.documents.pages import download_response, kind_names
from vault.documents.service import DocumentService
from vault.grants.service import GrantService
from vault.signatures.pages_verdicts import verdicts
from vault.signatures.service import SignatureService
from vault.web.i18n import gettext_
from vault.web.portal import Portal, PortalPages

__all__ = ("AgencyDocumentPages", "permission_names")


def permission_names() -> dict[str, str]:
    """What a grant lets the agency do, as a person reads it."""
    return {"view": gettext_("View"), "download": gettext_("Download"), "sign": gettext_("Sign")}


class AgencyDocumentPages(PortalPages):
    """`/agency/documents`: documents citizens shared with the officer's agency, under grants in force."""

    path = "/agency/documents"

    @get("/", cache=False)
    async def shared(self, portal: NamedDependency[Portal], grants: NamedDependency[GrantService]) -> Response[Any]:
        """The documents shared with the agency, newest grant first, a page at a time."""
        if (refused := portal.refuse("agency")) is not None:
            return refused
        page = await grants.shared_with(portal.caller, portal.request.query_params.get("cursor"), 20)
        return portal.render(
            "agency_documents.html", page=page, kinds=kind_names(portal.settings), permissions=permission_names()
        )

    @get("/{document_id:uuid}", cache=False)
    async def document(
        self,
        portal: NamedDependency[Portal],
        documents: NamedDependency[DocumentService],
        grants: NamedDependency[GrantService],
        document_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        """A shared document: what it is, under which grant; its signatures are one click away (the first
        verification starts the verifier's workers: this page never waits for it)."""
        if (refused := portal.refuse("agency")) is not None:
            return refused
        document = await documents.get(portal.caller, document_id)
        grant = await _grant_for(grants, portal, document_id)
        return portal.render(
            "agency_document.html",
            document=document,
            grant=grant,
            kinds=kind_names(portal.settings),
            permissions=permission_names(),
        )

    @get("/{document_id:uuid}/signatures", cache=False)
    async def signatures(
        self,
        portal: NamedDependency[Portal],
        documents: NamedDependency[DocumentService],
        signatures: NamedDependency[SignatureService],
        document_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        """The shared PDF's signatures, checked now and told in words."""
        if (refused := portal.refuse("agency")) is not None:
            return refused
        document = await documents.get(portal.caller, document_id)
        results = None
        notes: list[str] = []
        unchecked = False
        try:
            report = msgspec.to_builtins(await signatures.report_for_document(portal.caller, document_id))
            results, notes = verdicts(report), report.get("notes", [])
        except (UnprocessableContent, PayloadTooLarge):  # not a PDF, unreadable, or too large to verify in memory
            unchecked = True
        return portal.render(
            "agency_document_signatures.html", document=document, results=results, notes=notes, unchecked=unchecked
        )

    @get("/{document_id:uuid}/download", cache=False)
    async def download(
        self,
        portal: NamedDependency[Portal],
        documents: NamedDependency[DocumentService],
        document_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        """The document's current version, as a download (when the grant allows downloading)."""
        if (refused := portal.refuse("agency")) is not None:
            return refused
        return await download_response(portal, documents, document_id)


async def _grant_for(grants: GrantService, portal: Portal, document_id: uuid.UUID) -> Any:
    """The grant in force that shares `document_id` with the agency (the first page of grants is searched)."""
    page = await grants.shared_with(portal.caller, None, 100)
    return next((item for item in page.items if item.document_id == document_id), None)
