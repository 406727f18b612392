"""Which media types the vault accepts, and a check that the first bytes match the declared type."""

from __future__ import annotations

from collections.abc import AsyncIterator

from vault.core.errors import UnsupportedMediaType

__all__ = ("ACCEPTED_MEDIA_TYPES", "normalise_media_type", "sniffed")

# Official documents and scans. Active content (HTML, SVG, scripts) is refused: a vault is not a web host.
ACCEPTED_MEDIA_TYPES = frozenset(
    {
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/tiff",
        "image/webp",
        "text/plain",
        "text/csv",
        "application/json",
        "application/xml",
        "application/zip",
        "application/octet-stream",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    }
)

# Magic numbers for the types where a mismatch would mislead a reader (a "PDF" that is not one).
_MAGIC: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
}
_SNIFF_BYTES = 1024


def normalise_media_type(value: str | None) -> str:
    """`type/subtype` in lower case without parameters; 415 when missing or not accepted."""
    media_type = (value or "").split(";", 1)[0].strip().lower()
    if media_type not in ACCEPTED_MEDIA_TYPES:
        raise UnsupportedMediaType(
            f"media type {media_type or '(none)'!r} is not accepted; use one of: "
            + ", ".join(sorted(ACCEPTED_MEDIA_TYPES))
        )
    return media_type


def _matches(media_type: str, head: bytes) -> bool:
    magics = _MAGIC.get(media_type)
    if magics is None:
        return True
    if media_type == "application/pdf":
        # PDF readers accept the header anywhere in the first 1024 bytes.
        return b"%PDF-" in head[:_SNIFF_BYTES]
    return any(head.startswith(magic) for magic in magics)


async def sniffed(media_type: str, body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Pass `body` through, refusing (415) content whose first bytes contradict `media_type`."""
    head = b""
    checked = media_type not in _MAGIC
    async for piece in body:
        if checked:
            yield piece
            continue
        head += piece
        if len(head) < _SNIFF_BYTES:
            continue
        if not _matches(media_type, head):
            raise UnsupportedMediaType(f"the content is not {media_type}")
        checked = True
        yield head
    if not checked:
        if not _matches(media_type, head):
            raise UnsupportedMediaType(f"the content is not {media_type}")
        if head:
            yield head
