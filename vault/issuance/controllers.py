"""Issuance API: an agency officer pushes a signed PDF into a citizen's vault."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from vault.core.errors import BadRequest, UnsupportedMediaType
from vault.core.principal import Caller
from vault.documents.media import normalise_media_type
from vault.documents.schemas import DocumentRead, NewDocument
from vault.http.security import require_roles
from vault.issuance.service import IssuanceService

__all__ = ("IssuanceController",)

MAX_ISSUED_BYTES = 50 * 1024 * 1024


def _field(value: str | None, limit: int, name: str, default: str | None = None) -> str:
    value = (value or "").strip() or default
    if value is None:
        raise BadRequest(f"{name} is required (X-Document-{name.title()} header)")
    if len(value) > limit or any(ord(c) < 32 for c in value):
        raise BadRequest(f"{name} must be at most {limit} printable characters")
    return value


def _metadata(request: Request[Any, Any, Any]) -> NewDocument:
    if normalise_media_type(request.headers.get("content-type")) != "application/pdf":
        raise UnsupportedMediaType("issued documents are signed PDFs (Content-Type: application/pdf)")
    return NewDocument(
        title=_field(request.headers.get("x-document-title"), 200, "title"),
        kind=_field(request.headers.get("x-document-kind"), 64, "kind", "other"),
        media_type="application/pdf",
    )


class IssuanceController(Controller):
    """Agencies issuing documents into citizens' vaults."""

    path = "/api/v1/citizens"
    tags = ["issuance"]

    @post(
        "/{subject:str}/documents",
        guards=[require_roles("agency")],
        status_code=201,
        request_max_body_size=MAX_ISSUED_BYTES,
    )
    async def issue_document(
        self, request: Request[Caller, Any, Any], issuance: NamedDependency[IssuanceService], subject: FromPath[str]
    ) -> DocumentRead:
        """Issue a signed PDF (raw body; title and kind in X-Document-Title / X-Document-Kind) to the citizen
        `subject`; the signature is verified first (422 when missing, broken or untrusted)."""
        meta = _metadata(request)
        return await issuance.issue(request.user, subject, meta, await request.body())
