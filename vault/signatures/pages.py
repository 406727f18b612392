"""The public verification page: drop a PDF, read a verdict per signature, download the reports. Nothing is stored."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import msgspec
from litestar import Response, get, post
from litestar.di import NamedDependency

from vault.core.errors import PayloadTooLarge, UnprocessableContent
from vault.signatures.pages_verdicts import verdicts
from vault.signatures.service import SignatureService
from vault.web.csrf import CSRF_FIELD
from vault.web.forms import read_small_form
from vault.web.i18n import gettext_
from vault.web.login import csrf_refused
from vault.web.portal import Portal, PortalPages

__all__ = ("MAX_VERIFY_BYTES", "VerifyController")

MAX_VERIFY_BYTES = 50 * 1024 * 1024
_DOWNLOAD_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _download(content: bytes, media_type: str, filename: str) -> Response[bytes]:
    headers = {**_DOWNLOAD_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(content, media_type=media_type, headers=headers)


def _etsi_download(reports: list[str]) -> Response[bytes]:
    if len(reports) == 1:
        return _download(reports[0].encode(), "application/xml", "etsi-validation-report.xml")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for number, xml in enumerate(reports, start=1):
            zipped.writestr(f"etsi-validation-report-{number}.xml", xml)
    return _download(archive.getvalue(), "application/zip", "etsi-validation-reports.zip")


class VerifyController(PortalPages):
    """`/verify`: anyone may check a PDF's signatures."""

    path = "/verify"

    @get("/", cache=False)
    async def form(self, portal: NamedDependency[Portal]) -> Response[Any]:
        """The upload form."""
        return portal.render("verify.html", errors=[], results=None)

    @post("/", status_code=200, cache=False, request_max_body_size=MAX_VERIFY_BYTES + 64 * 1024)
    async def verify(
        self, portal: NamedDependency[Portal], signatures: NamedDependency[SignatureService]
    ) -> Response[Any]:
        """Verify the uploaded PDF: a page of verdicts, or the JSON or ETSI XML report as a download."""
        try:
            form = await read_small_form(portal.request, MAX_VERIFY_BYTES)
        except PayloadTooLarge:
            message = gettext_("The file must be smaller than 50 MB.")
            return portal.render("verify.html", status_code=413, errors=[message], results=None)
        if not await portal.csrf_ok(form.fields.get(CSRF_FIELD)):
            return csrf_refused(portal)
        if form.file is None:
            return portal.render("verify.html", status_code=400, errors=[gettext_("Select a PDF file.")], results=None)
        if not form.file.startswith(b"%PDF-"):
            message = gettext_("The selected file must be a PDF.")
            return portal.render("verify.html", status_code=415, errors=[message], results=None)
        return await _answer(portal, signatures, form.file, form.filename, form.fields.get("action", "check"))


async def _answer(
    portal: Portal, signatures: SignatureService, pdf: bytes, filename: str, action: str
) -> Response[Any]:
    """The verdicts page, or the report the visitor asked to download."""
    try:
        report: dict[str, Any] = msgspec.to_builtins(await signatures.report(pdf, etsi=action == "xml"))
    except UnprocessableContent:
        message = gettext_("This PDF could not be read. It may be damaged or not a real PDF.")
        return portal.render("verify.html", status_code=422, errors=[message], results=None)
    if action == "json":
        body = json.dumps(report, indent=2, ensure_ascii=False).encode()
        return _download(body, "application/json", "verification-report.json")
    if action == "xml" and report.get("etsi_reports"):
        return _etsi_download(list(report["etsi_reports"]))
    return portal.render(
        "verify.html", errors=[], results=verdicts(report), filename=filename, notes=report.get("notes", [])
    )
