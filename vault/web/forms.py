"""Small multipart forms read into memory as they stream (never spooled to a temporary file on disk)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar import Request
from python_multipart import MultipartParser
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import parse_options_header

from vault.core.errors import BadRequest, PayloadTooLarge

__all__ = ("SmallForm", "read_small_form")

MAX_FIELD_BYTES = 4096
MAX_PARTS = 8


@dataclass
class SmallForm:
    """The text fields of a form and at most one file (the last `file` part wins).

    Attributes:
        fields: Text fields by name.
        file: The file's bytes, or None when the form had no file part.
        filename: The file's name as the browser sent it.
    """

    fields: dict[str, str] = field(default_factory=dict)
    file: bytes | None = None
    filename: str = ""


@dataclass
class _Part:
    headers: dict[str, str] = field(default_factory=dict)
    name: bytes = b""
    value: bytes = b""
    data: bytearray = field(default_factory=bytearray)


def _disposition(headers: dict[str, str]) -> tuple[str, str | None]:
    _, options = parse_options_header(headers.get("content-disposition", ""))
    filename = options.get(b"filename")
    return options.get(b"name", b"").decode("utf-8", "replace"), (
        filename.decode("utf-8", "replace") if filename is not None else None
    )


async def read_small_form(request: Request[Any, Any, Any], max_file_bytes: int) -> SmallForm:
    """Read a `multipart/form-data` body of at most `max_file_bytes` of file into memory.

    Raises:
        BadRequest: Not multipart, malformed, too many parts or a text field too long.
        PayloadTooLarge: The file is bigger than `max_file_bytes`.
    """
    _, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if not boundary:
        raise BadRequest("a multipart form is expected")
    form = SmallForm()
    part = _Part()
    count = 0

    def on_part_begin() -> None:
        nonlocal part, count
        count += 1
        if count > MAX_PARTS:
            raise BadRequest("too many form parts")
        part = _Part()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        part.name += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        part.value += data[start:end]

    def on_header_end() -> None:
        part.headers[part.name.decode("latin-1").lower()] = part.value.decode("utf-8", "replace")
        part.name, part.value = b"", b""

    def on_part_data(data: bytes, start: int, end: int) -> None:
        part.data += data[start:end]
        _, filename = _disposition(part.headers)
        limit = max_file_bytes if filename is not None else MAX_FIELD_BYTES
        if len(part.data) > limit:
            if filename is not None:
                raise PayloadTooLarge(f"the file is larger than {max_file_bytes} bytes")
            raise BadRequest("form field too long")

    def on_part_end() -> None:
        name, filename = _disposition(part.headers)
        if filename is not None:
            if name == "file" and filename:
                form.file, form.filename = bytes(part.data), filename.replace("\\", "/").rsplit("/", 1)[-1]
        else:
            form.fields[name] = part.data.decode("utf-8", "replace")

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        raise BadRequest("malformed multipart body") from exc
    return form
