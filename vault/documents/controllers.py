"""Documents API: thin handlers that parse, call the document service, and shape the response."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, delete, get, post, route
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Stream

from vault.core.principal import Caller
from vault.documents.content import Content
from vault.documents.schemas import DocumentPage, DocumentRead, VersionRead
from vault.documents.service import DocumentService
from vault.documents.uploads import read_upload
from vault.http.params import Limit
from vault.http.security import require_roles

__all__ = ("DocumentController", "content_response", "parse_range")

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None) -> tuple[int, int | None] | None:
    """One byte range as (first, last-inclusive or None), (-suffix, None), or None to serve everything.

    Invalid or multi-range headers are ignored, as RFC 9110 allows.
    """
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        return -int(last), None
    if last and int(last) < int(first):
        return None
    return int(first), int(last) if last else None


def _disposition(title: str) -> str:
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]", "_", title)[:100] or "document"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(title[:150], safe='')}"


def content_response(content: Content, title: str, ranged: bool) -> Stream:
    """A streamed body for decrypted content; the decryptor is closed even if the client goes away."""
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Length": str(content.end - content.start),
        "Content-Disposition": _disposition(title),
        "ETag": f'"{content.sha256}"',
        "X-Content-Type-Options": "nosniff",
        "X-Document-Version": str(content.version),
    }
    status = 200
    if ranged:
        status = 206
        headers["Content-Range"] = f"bytes {content.start}-{max(content.end - 1, content.start)}/{content.size}"
    return Stream(
        content=content.chunks,
        media_type=content.media_type,
        status_code=status,
        headers=headers,
        background=BackgroundTask(content.chunks.aclose),
    )


class DocumentController(Controller):
    """The caller's documents and documents shared with them."""

    path = "/api/v1/documents"
    tags = ["documents"]

    @post("/", guards=[require_roles("citizen")], status_code=201, request_max_body_size=None)
    async def upload(
        self, request: Request[Caller, Any, Any], documents: NamedDependency[DocumentService]
    ) -> DocumentRead:
        """Upload a document: a raw streamed body (title/kind in X-Document-Title / X-Document-Kind headers or
        the query) or multipart/form-data with `title`, `kind` and then `file`."""
        meta, content = await read_upload(request)
        return await documents.upload(request.user, meta, content)

    @get("/", guards=[require_roles("citizen")])
    async def list_documents(
        self,
        request: Request[Caller, Any, Any],
        documents: NamedDependency[DocumentService],
        cursor: FromQuery[str | None] = None,
        limit: Limit = 20,
    ) -> DocumentPage:
        """The caller's own documents, newest first."""
        return await documents.list_owned(request.user, cursor, limit)

    @get("/{document_id:uuid}", guards=[require_roles("citizen", "agency")])
    async def read(
        self,
        request: Request[Caller, Any, Any],
        documents: NamedDependency[DocumentService],
        document_id: FromPath[uuid.UUID],
    ) -> DocumentRead:
        """A document's metadata (owner or grantee)."""
        return await documents.get(request.user, document_id)

    @get("/{document_id:uuid}/versions", guards=[require_roles("citizen", "agency")])
    async def list_versions(
        self,
        request: Request[Caller, Any, Any],
        documents: NamedDependency[DocumentService],
        document_id: FromPath[uuid.UUID],
    ) -> list[VersionRead]:
        """Every version of a document, oldest first."""
        return await documents.versions(request.user, document_id)

    @route(
        "/{document_id:uuid}/content",
        guards=[require_roles("citizen", "agency")],
        http_method=["GET", "HEAD"],
    )
    async def download(
        self,
        request: Request[Caller, Any, Any],
        documents: NamedDependency[DocumentService],
        document_id: FromPath[uuid.UUID],
        version: Annotated[int | None, QueryParameter(ge=1)] = None,
    ) -> Stream:
        """The document's bytes (current or `?version=`), streamed; one `Range` supported."""
        byte_range = parse_range(request.headers.get("range"))
        content = await documents.open_content(request.user, document_id, version=version, byte_range=byte_range)
        return content_response(content, content.title, byte_range is not None)

    @post(
        "/{document_id:uuid}/versions",
        guards=[require_roles("citizen")],
        status_code=201,
        request_max_body_size=None,
    )
    async def add_version(
        self,
        request: Request[Caller, Any, Any],
        documents: NamedDependency[DocumentService],
        document_id: FromPath[uuid.UUID],
    ) -> DocumentRead:
        """Upload a new version (same body forms as upload; title is not needed)."""
        _, content = await read_upload(request, require_title=False)
        return await documents.add_version(request.user, document_id, content)

    @delete("/{document_id:uuid}", guards=[require_roles("citizen")], status_code=204)
    async def erase(
        self,
        request: Request[Caller, Any, Any],
        documents: NamedDependency[DocumentService],
        document_id: FromPath[uuid.UUID],
    ) -> None:
        """Erase every version (crypto-shredding: the data keys go first)."""
        await documents.erase(request.user, document_id)
