"""A vault PDF's signatures on its page: the verification report in words (a section of the document's page),
and signing it from the browser (level, reason, a visible stamp on a chosen page and position)."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from vault.core.errors import Conflict, UnprocessableContent
from vault.core.principal import Caller
from vault.documents.schemas import DocumentRead
from vault.documents.service import DocumentService
from vault.signatures.pages_verdicts import verdicts
from vault.signatures.schemas import SignOptions, StampOptions
from vault.signatures.service import MAX_PDF_BYTES, SignatureService
from vault.web.i18n import N_, gettext_
from vault.web.portal import Portal, PortalPages

__all__ = ("STAMP_POSITIONS", "SignPages", "SignatureReportPages", "VerificationSection")

PDF = "application/pdf"
# Where the stamp goes: 220 x 70 points, 36 points (half an inch) in from the edges of an A4 or US Letter page
# (the boxes fit both: x up to 559 of 595 or 612, y up to 756 of 842 or 792).
STAMP_POSITIONS: dict[str, tuple[str, tuple[int, int, int, int]]] = {
    "bottom-left": (N_("Bottom left"), (36, 36, 256, 106)),
    "bottom-right": (N_("Bottom right"), (339, 36, 559, 106)),
    "top-left": (N_("Top left"), (36, 686, 256, 756)),
    "top-right": (N_("Top right"), (339, 686, 559, 756)),
}
LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")


def _levels(signatures: SignatureService) -> dict[str, str]:
    """The PAdES levels this deployment can sign at, as a person reads them."""
    names = {
        "B-B": gettext_("Basic (B-B): the signature only"),
        "B-T": gettext_("With a trusted time (B-T)"),
        "B-LT": gettext_("For the long term (B-LT): with what is needed to check it later"),
        "B-LTA": gettext_("For archiving (B-LTA): renewed with a document timestamp"),
    }
    return {level: names[level] for level in LEVELS if level == "B-B" or signatures.timestamping}


class VerificationSection:
    """On a PDF's page: the way to its signatures told in words. The check itself is a page of its own
    (`SignatureReportPages`): a verification can take seconds (the first one starts the verification workers),
    and the document's page must not wait for it."""

    async def context(self, caller: Caller, document: DocumentRead) -> dict[str, Any]:
        return {"signed_pdf": document.media_type == PDF}


async def _verification(signatures: SignatureService, caller: Caller, document: DocumentRead) -> dict[str, Any]:
    """The document's signatures told in words, or why they cannot be."""
    if document.size > MAX_PDF_BYTES:
        return {"too_large": True}
    try:
        report: dict[str, Any] = msgspec.to_builtins(await signatures.report_for_document(caller, document.id))
    except UnprocessableContent:
        return {"unreadable": True}
    return {"results": verdicts(report), "notes": report.get("notes", [])}


class SignatureReportPages(PortalPages):
    """`/documents/{id}/signatures`: a PDF's signatures checked now, a verdict per signature in words."""

    path = "/documents/{document_id:uuid}/signatures"

    @get("/", cache=False)
    async def report(
        self,
        portal: NamedDependency[Portal],
        documents: NamedDependency[DocumentService],
        signatures: NamedDependency[SignatureService],
        document_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        """The verification report in words (`?signed=1`: right after the citizen signed)."""
        if (refused := portal.refuse("citizen")) is not None:
            return refused
        document = await documents.get(portal.caller, document_id)
        if document.media_type != PDF:
            return portal.redirect(f"/documents/{document_id}")
        return portal.render(
            "document_signatures.html",
            document=document,
            verification=await _verification(signatures, portal.caller, document),
            signed=portal.request.query_params.get("signed") == "1",
        )


def _form(portal: Portal, signatures: SignatureService, document: DocumentRead, **extra: Any) -> dict[str, Any]:
    return {
        "document": document,
        "levels": _levels(signatures),
        "positions": {key: gettext_(label) for key, (label, _) in STAMP_POSITIONS.items()},
        "errors": [],
        "values": {
            "level": signatures.default_level,
            "reason": "",
            "stamp": "yes",
            "page": "1",
            "position": "bottom-right",
        },
        **extra,
    }


class SignPages(PortalPages):
    """`/documents/{id}/sign`: the citizen signs one of their PDFs; the signed PDF becomes a new version."""

    path = "/documents/{document_id:uuid}/sign"

    @get("/", cache=False)
    async def sign_form(
        self,
        portal: NamedDependency[Portal],
        documents: NamedDependency[DocumentService],
        signatures: NamedDependency[SignatureService],
        document_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        """How to sign: level, reason, and where the visible stamp goes."""
        if (refused := portal.refuse("citizen")) is not None:
            return refused
        document = await documents.get(portal.caller, document_id)
        if document.media_type != PDF:
            return portal.redirect(f"/documents/{document_id}")
        return portal.render("sign.html", **_form(portal, signatures, document))

    @post("/", status_code=200)
    async def sign(
        self,
        portal: NamedDependency[Portal],
        documents: NamedDependency[DocumentService],
        signatures: NamedDependency[SignatureService],
        document_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        """Sign with the deployment's seal; back to the document's page, which shows the new signature."""
        if isinstance(form := await portal.posted_form("citizen"), Response):
            return form
        values = {name: str(form.get(name, "")).strip() for name in ("level", "reason", "stamp", "page", "position")}
        document = await documents.get(portal.caller, document_id)
        levels = _levels(signatures)
        errors: list[tuple[str, str]] = []
        if values["level"] not in levels:
            errors.append(("level", gettext_("Choose how to sign.")))
        if len(values["reason"]) > 200:
            errors.append(("reason", gettext_("The reason must be 200 characters or fewer.")))
        stamp = None
        if values["stamp"] == "yes":
            page = int(values["page"]) if values["page"].isdigit() else 0
            if not 1 <= page <= 10000:
                errors.append(("page", gettext_("Enter the page number, for example 1.")))
            if values["position"] not in STAMP_POSITIONS:
                errors.append(("position", gettext_("Choose where the stamp goes.")))
            if not errors:
                stamp = StampOptions(page=page - 1, box=list(STAMP_POSITIONS[values["position"]][1]))
        if not errors:
            options = SignOptions(level=values["level"], reason=values["reason"] or None, visible=stamp)  # type: ignore[arg-type]
            try:
                await signatures.sign(portal.caller, document_id, options)
            except Conflict:
                message = gettext_(
                    "This PDF cannot take the signature as asked: it may have fewer pages than the page you chose,"
                    " or it may not allow more signatures."
                )
                errors.append(("page" if stamp else "level", message))
            except UnprocessableContent:
                errors.append(("level", gettext_("This PDF could not be signed. It may be damaged.")))
        if errors:
            context = _form(portal, signatures, document, values=values)
            context["errors"] = [message for _, message in errors]
            context["error_fields"] = dict(errors)
            context["error_target"] = errors[0][0]
            return portal.render("sign.html", status_code=422, **context)
        return portal.redirect(f"/documents/{document_id}/signatures?signed=1")
