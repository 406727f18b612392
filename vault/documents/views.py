"""Documents as the API shows them: ORM rows in, response schemas out."""

from __future__ import annotations

from vault.documents.models import Document, DocumentVersion
from vault.documents.schemas import DocumentRead, VersionRead

__all__ = ("document_read", "version_read")


def document_read(document: Document, *, owned: bool = True) -> DocumentRead:
    current = document.versions[-1]
    return DocumentRead(
        id=document.id,
        title=document.title,
        kind=document.kind,
        media_type=current.media_type,
        size=current.size,
        sha256=current.sha256,
        version=current.number,
        versions=len(document.versions),
        issued=document.issuer_agency is not None,
        issuer=document.issuer_agency,
        created_at=document.created_at,
        updated_at=document.updated_at,
        owned=owned,
        filename=document.filename,
    )


def version_read(version: DocumentVersion) -> VersionRead:
    return VersionRead(
        id=version.id,
        number=version.number,
        media_type=version.media_type,
        size=version.size,
        sha256=version.sha256,
        origin=version.origin,
        created_at=version.created_at,
    )
