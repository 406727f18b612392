"""Reading uploads as they stream: a raw body, or multipart/form-data parsed incrementally (never spooled to disk)."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from litestar import Request
from python_multipart import MultipartParser
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import parse_options_header

from vault.core.errors import BadRequest
from vault.documents.content import IncomingContent
from vault.documents.media import normalise_media_type
from vault.documents.schemas import NewDocument

__all__ = ("clean_filename", "header_text", "read_upload")

MAX_FIELD_BYTES = 1024
TITLE_MAX = 200
KIND_MAX = 64
FILENAME_MAX = 255


def _clean(value: str | None, limit: int, name: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if len(value) > limit or any(ord(c) < 32 for c in value):
        raise BadRequest(f"{name} must be at most {limit} printable characters")
    return value


def header_text(request: Request[Any, Any, Any], name: str) -> str | None:
    """A text header: RFC 8187 `NAME*: UTF-8''percent-encoded` first, else the raw value read as UTF-8 (HTTP
    stacks hand header bytes over as Latin-1), else as Latin-1."""
    extended = request.headers.get(f"{name}*")
    if extended is not None:
        charset, _, rest = extended.partition("'")
        _, _, encoded = rest.partition("'")
        if charset.lower() != "utf-8" or not encoded:
            raise BadRequest(f"{name}* must be UTF-8''<percent-encoded text> (RFC 8187)")
        try:
            return unquote(encoded, encoding="utf-8", errors="strict")
        except UnicodeDecodeError as exc:
            raise BadRequest(f"{name}* is not valid UTF-8") from exc
    raw = request.headers.get(name)
    if raw is None:
        return None
    try:
        return raw.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return raw


def clean_filename(value: str | None) -> str | None:
    """The last path segment of a client's file name, printable and at most 255 characters, or None."""
    if not value:
        return None
    name = value.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name or name in {".", ".."} or any(ord(c) < 32 or c == "\x7f" for c in name):
        return None
    return name[:FILENAME_MAX]


def _declared_length(request: Request[Any, Any, Any]) -> int | None:
    raw = request.headers.get("content-length")
    if raw is None:
        return None
    try:
        length = int(raw)
    except ValueError as exc:
        raise BadRequest("invalid Content-Length") from exc
    if length < 0:
        raise BadRequest("invalid Content-Length")
    return length


async def read_upload(
    request: Request[Any, Any, Any], *, require_title: bool = True, form_fields: dict[str, str] | None = None
) -> tuple[NewDocument, IncomingContent]:
    """The upload's metadata and a stream of its bytes, from a raw body or a multipart form.

    `form_fields`, when given, receives the form's text fields (those before the file part), for example the
    portal's CSRF token, which must be checked before the file is read.
    """
    content_type = request.headers.get("content-type", "")
    if content_type.lower().startswith("multipart/form-data"):
        return await _read_multipart(request, content_type, require_title, form_fields)
    media_type = normalise_media_type(content_type)
    title = _clean(header_text(request, "x-document-title") or request.query_params.get("title"), TITLE_MAX, "title")
    kind = _clean(request.headers.get("x-document-kind") or request.query_params.get("kind"), KIND_MAX, "kind")
    filename = clean_filename(header_text(request, "x-document-filename") or request.query_params.get("filename"))
    if require_title and title is None:
        title = filename
    if require_title and title is None:
        raise BadRequest("a title is required (X-Document-Title header or ?title=)")
    meta = NewDocument(title=title or "", kind=kind or "other", media_type=media_type, filename=filename)
    return meta, IncomingContent(media_type, request.stream(), _declared_length(request))


@dataclass
class _FormState:
    """What the push parser has seen so far."""

    fields: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    header_name: bytes = b""
    header_value: bytes = b""
    part_value: bytearray = field(default_factory=bytearray)
    in_file: bool = False
    file_headers: dict[str, str] | None = None
    file_done: bool = False
    pending: deque[bytes] = field(default_factory=deque)
    parts: int = 0


def _disposition(headers: dict[str, str]) -> tuple[str, str | None]:
    _, options = parse_options_header(headers.get("content-disposition", ""))
    name = options.get(b"name", b"").decode("utf-8", "replace")
    filename = options.get(b"filename")
    return name, filename.decode("utf-8", "replace") if filename is not None else None


def _make_parser(boundary: bytes, state: _FormState) -> MultipartParser:
    def on_part_begin() -> None:
        state.parts += 1
        if state.parts > 8:
            raise BadRequest("too many form parts")
        if state.file_headers is not None:
            raise BadRequest("the file part must come last in the form")
        state.headers = {}
        state.part_value = bytearray()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state.header_name += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state.header_value += data[start:end]

    def on_header_end() -> None:
        state.headers[state.header_name.decode("latin-1").lower()] = state.header_value.decode("utf-8", "replace")
        state.header_name, state.header_value = b"", b""

    def on_headers_finished() -> None:
        name, filename = _disposition(state.headers)
        if name == "file":
            state.in_file = True
            state.file_headers = {**state.headers, "filename": filename or ""}

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state.in_file:
            state.pending.append(bytes(data[start:end]))
            return
        state.part_value += data[start:end]
        if len(state.part_value) > MAX_FIELD_BYTES:
            raise BadRequest("form field too long")

    def on_part_end() -> None:
        if state.in_file:
            state.in_file, state.file_done = False, True
            return
        name, _ = _disposition(state.headers)
        state.fields[name] = state.part_value.decode("utf-8", "replace")

    callbacks = {
        "on_part_begin": on_part_begin,
        "on_part_data": on_part_data,
        "on_part_end": on_part_end,
        "on_header_field": on_header_field,
        "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished,
    }
    return MultipartParser(boundary, callbacks)  # type: ignore[arg-type]


async def _read_multipart(
    request: Request[Any, Any, Any], content_type: str, require_title: bool, form_fields: dict[str, str] | None
) -> tuple[NewDocument, IncomingContent]:
    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise BadRequest("multipart body without a boundary")
    state = _FormState()
    parser = _make_parser(boundary, state)
    source = request.stream().__aiter__()

    async def feed_once() -> bool:
        try:
            piece = await anext(source)
        except StopAsyncIteration:
            return False
        try:
            parser.write(piece)
        except MultipartParseError as exc:
            raise BadRequest("malformed multipart body") from exc
        return True

    while state.file_headers is None:
        if not await feed_once():
            raise BadRequest("the form has no 'file' part")

    async def file_bytes() -> AsyncIterator[bytes]:
        while True:
            while state.pending:
                yield state.pending.popleft()
            if state.file_done:
                break
            if not await feed_once():
                raise BadRequest("the multipart body ended inside the file")

    if form_fields is not None:
        form_fields.update(state.fields)
    file_headers = state.file_headers
    media_type = normalise_media_type(file_headers.get("content-type"))
    filename = clean_filename(file_headers.get("filename"))
    title = _clean(state.fields.get("title") or filename, TITLE_MAX, "title")
    kind = _clean(state.fields.get("kind"), KIND_MAX, "kind")
    if require_title and title is None:
        raise BadRequest("a title is required (form field 'title' or the file name)")
    meta = NewDocument(title=title or "", kind=kind or "other", media_type=media_type, filename=filename)
    return meta, IncomingContent(media_type, file_bytes(), None)
