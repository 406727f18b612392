"""Documents API: thin handlers that parse, call the document service, and shape the response."""

from __future__ import annotations

import mimetypes
import re
import uuid
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, Response, delete, get, patch, post, route
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Stream

from vault.core.principal import Caller
from vault.documents.content import Content
from vault.documents.schemas import DocumentPage, DocumentRead, DocumentUpdate, VersionRead
from vault.documents.service import DocumentService
from vault.documents.uploads import read_upload
from vault.http.params import Limit
from vault.http.security import require_roles

__all__ = ("DocumentController", "content_response", "parse_range")

_RANGE = re.compile(r"^bytes=(\d{0,19})-(\d{0,19})$")  # 19 digits: past any file size, never a huge integer
ByteRange = tuple[int | None, int | None]


def parse_range(header: str | None) -> ByteRange | None:
    """One byte range as (first, last-inclusive or None), or (None, suffix length); None serves everything.

    Invalid or multi-range headers are ignored, as RFC 9110 allows; nothing here can fail on hostile input.
    """
    if not header or len(header) > 64:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        return None, int(last)
    if last and int(last) < int(first):
        return None
    return int(first), int(last) if last else None


def download_name(title: str, filename: str | None, media_type: str) -> str:
    """The name a download is saved under: the uploaded file name, else the title with the type's extension."""
    if filename:
        return filename
    extension = mimetypes.guess_extension(media_type, strict=False) or ""
    return title if not extension or title.lower().endswith(extension) else f"{title}{extension}"


def _disposition(name: str) -> str:
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]", "_", name)[:100] or "document"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name[:150], safe='')}"


def content_response(content: Content, ranged: bool) -> Stream:
    """A streamed body for decrypted content; the decryptor is closed even if the client goes away."""
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Length": str(content.end - content.start),
        "Content-Disposition": _disposition(download_name(content.title, content.filename, content.media_type)),
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


def created(document: DocumentRead) -> Response[DocumentRead]:
    """201 with the document and its `Location`."""
    return Response(document, status_code=201, headers={"Location": f"/api/v1/documents/{document.id}"})


def _etags(header: str | None) -> frozenset[str]:
    """The entity tags of an `If-None-Match` header (weak or strong; `*` kept as is)."""
    if not header or len(header) > 4096:
        return frozenset()
    return frozenset(tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip())


class DocumentController(Controller):
    """The caller's documents and documents shared with them."""

    path = "/api/v1/documents"
    tags = ["documents"]

    @post("/", guards=[require_roles("citizen")], status_code=201, request_max_body_size=None)
    async def upload(
        self, request: Request[Caller, Any, Any], documents: NamedDependency[DocumentService]
    ) -> Response[DocumentRead]:
        """Upload a document: a raw streamed body (title/kind in X-Document-Title / X-Document-Kind headers or
        the query; `X-Document-Title*: UTF-8''...` for non-ASCII titles) or multipart/form-data with `title`,
        `kind` and then `file`."""
        meta, content = await read_upload(request)
        return created(await documents.upload(request.user, meta, content))

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
        version: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)] = None,
    ) -> Stream | Response[None]:
        """The document's bytes (current or `?version=`), streamed; one `Range` supported; `If-None-Match`
        with the ETag (the quoted SHA-256) answers 304."""
        byte_range = parse_range(request.headers.get("range"))
        content = await documents.open_content(
            request.user,
            document_id,
            version=version,
            byte_range=byte_range,
            unless_etag=_etags(request.headers.get("if-none-match")),
        )
        if content is None:  # the client holds this version already: 304, nothing decrypted
            return Response(content=None, status_code=304)
        return content_response(content, byte_range is not None)

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
    ) -> Response[DocumentRead]:
        """Upload a new version (same body forms as upload; title is not needed)."""
        _, content = await read_upload(request, require_title=False)
        return created(await documents.add_version(request.user, document_id, content))

    @patch("/{document_id:uuid}", guards=[require_roles("citizen")])
    async def update(
        self,
        request: Request[Caller, Any, Any],
        documents: NamedDependency[DocumentService],
        document_id: FromPath[uuid.UUID],
        data: JSONBody[DocumentUpdate],
    ) -> DocumentRead:
        """Change the title or the kind of one of the caller's documents."""
        return await documents.update(request.user, document_id, data)

    @delete("/{document_id:uuid}", guards=[require_roles("citizen")], status_code=204)
    async def erase(
        self,
        request: Request[Caller, Any, Any],
        documents: NamedDependency[DocumentService],
        document_id: FromPath[uuid.UUID],
    ) -> None:
        """Erase every version (crypto-shredding: the data keys go first)."""
        await documents.erase(request.user, document_id)
