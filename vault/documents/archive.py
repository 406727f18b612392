"""All of a citizen's documents as one zip archive, streamed: one document decrypted at a time, each piece written
into the archive and sent on as it comes, so memory stays flat however large the vault is."""

from __future__ import annotations

import zipfile
from collections.abc import AsyncGenerator

from vault.core.principal import Caller
from vault.documents.controllers import download_name
from vault.documents.service import DocumentService

__all__ = ("archive_name", "stream_archive")

_PAGE = 50
_SLICE = 64 * 1024


class _Sink:
    """The archive's output: written by `zipfile`, drained by the response. Unseekable (no `seek`/`tell`), so
    `zipfile` writes each entry's sizes and CRC in a data descriptor after its data, never going back."""

    def __init__(self) -> None:
        self._pending = bytearray()

    def write(self, data: bytes, /) -> int:
        self._pending += data
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        taken = bytes(self._pending)
        self._pending.clear()
        return taken


def archive_name(name: str, taken: set[str]) -> str:
    """`name` made unique in the archive (`Diploma.pdf`, `Diploma (2).pdf`, ...) and safe as a path inside it."""
    name = name.replace("/", "_").replace("\\", "_").lstrip(".") or "document"
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        stem, extension = name, ""
    candidate, number = name, 1
    while candidate.lower() in taken:
        number += 1
        candidate = f"{stem} ({number}){'.' + extension if extension else ''}"
    taken.add(candidate.lower())
    return candidate


async def stream_archive(documents: DocumentService, caller: Caller) -> AsyncGenerator[bytes, None]:
    """The zip of the current version of each of the caller's documents, newest first, piece by piece.

    Each document is opened like a download (authorised and recorded in the access log), decrypted and
    compressed as it streams, then closed before the next one is opened.
    """
    sink = _Sink()
    taken: set[str] = set()
    cursor: str | None = None
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        while True:
            page = await documents.list_owned(caller, cursor, _PAGE)
            for document in page.items:
                content = await documents.open_content(caller, document.id)
                assert content is not None  # no ETag was given
                try:
                    name = archive_name(download_name(content.title, content.filename, content.media_type), taken)
                    info = zipfile.ZipInfo(name, date_time=document.created_at.timetuple()[:6])
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.file_size = content.size  # tells zipfile whether the entry needs ZIP64
                    with archive.open(info, "w") as entry:
                        async for piece in content.chunks:  # the store's reads: up to 4 MiB each
                            view = memoryview(piece)
                            for start in range(0, len(view), _SLICE):  # sent on in small pieces
                                entry.write(view[start : start + _SLICE])
                                if chunk := sink.take():
                                    yield chunk
                finally:
                    await content.chunks.aclose()
                if chunk := sink.take():
                    yield chunk
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    yield sink.take()
