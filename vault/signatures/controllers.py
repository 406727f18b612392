"""Signature endpoints: sign a vault PDF, the report of a vault document, and public verification."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from vault.core.errors import UnsupportedMediaType
from vault.core.principal import Caller
from vault.core.ratelimit import RateLimiter
from vault.documents.media import normalise_media_type
from vault.http.params import VersionNumber
from vault.http.security import PUBLIC, require_roles
from vault.settings import Settings
from vault.signatures.evidence import EvidenceFormat, EvidenceService, render
from vault.signatures.schemas import ReportRead, SignedVersion, SignOptions
from vault.signatures.service import MAX_PDF_BYTES, SignatureService

__all__ = ("SignatureController", "verify_upload")


class SignatureController(Controller):
    """Signatures of vault documents."""

    path = "/api/v1/documents/{document_id:uuid}/signatures"
    tags = ["signatures"]
    guards = [require_roles("citizen", "agency")]

    @post("/", status_code=201)
    async def sign(
        self,
        request: Request[Caller, Any, Any],
        signatures: NamedDependency[SignatureService],
        document_id: FromPath[uuid.UUID],
        data: JSONBody[SignOptions],
    ) -> SignedVersion:
        """Sign the current PDF version (owner, or a grantee allowed to sign); the result is a new version."""
        return await signatures.sign(request.user, document_id, data)

    @get("/")
    async def report(
        self,
        request: Request[Caller, Any, Any],
        signatures: NamedDependency[SignatureService],
        document_id: FromPath[uuid.UUID],
        etsi: FromQuery[bool] = False,
    ) -> ReportRead:
        """The verification report of the current version (PAdES, pyHanko bottom line and ETSI indication);
        `?etsi=true` adds the ETSI TS 119 102-2 XML report of each signature."""
        return await signatures.report_for_document(request.user, document_id, etsi=etsi)

    @get("/{version:int}/evidence", media_type="application/json")
    async def evidence(
        self,
        request: Request[Caller, Any, Any],
        evidence: NamedDependency[EvidenceService],
        document_id: FromPath[uuid.UUID],
        version: VersionNumber,
        format: FromQuery[EvidenceFormat] = "json",
    ) -> Response[bytes]:
        """The signing evidence of signed version `version`: who (the identity its certificate names, with the
        provider and assurance level), when (the timestamp), the document's SHA-256, the certificate, and the
        audit log's receipt of the signing event (inclusion proof against a signed checkpoint, checked offline
        with `vault audit verify-receipt`). `?format=pdf` gives the same for people."""
        found = await evidence.evidence(request.user, document_id, version)
        body, media_type = render(found, format)
        name = f"signing-evidence-{document_id}-v{version}.{format}"
        return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@post(
    "/api/v1/verify",
    opt=PUBLIC,
    tags=["signatures"],
    status_code=200,
    request_max_body_size=MAX_PDF_BYTES,
)
async def verify_upload(
    request: Request[Any, Any, Any],
    signatures: NamedDependency[SignatureService],
    limiter: NamedDependency[RateLimiter],
    settings: NamedDependency[Settings],
    etsi: FromQuery[bool] = False,
) -> ReportRead:
    """Verify any PDF (raw `application/pdf` body, up to 50 MiB). Nothing is stored; no login needed; each
    client address may verify `VAULT_ANONYMOUS_VERIFY_PER_MINUTE` documents a minute (429 beyond)."""
    client = request.client.host if request.client else "unknown"
    await limiter.hit(f"verify:{client}", settings.anonymous_verify_per_minute, 60.0)
    if normalise_media_type(request.headers.get("content-type")) != "application/pdf":
        raise UnsupportedMediaType("send the PDF as the raw body with Content-Type: application/pdf")
    return await signatures.report(await request.body(), etsi=etsi)
