"""Long-term archival: when a B-LTA document's newest document timestamp stops protecting it.

A B-LTA document stays verifiable as long as its newest document timestamp can be validated; that ends when the
timestamp's TSA certificate expires (or its algorithms weaken). Before then, a new document timestamp must be
added over everything (:meth:`PdfSigningService.renew_archival_timestamp`). Scheduling that is the caller's job.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

from ._pdfio import open_reader, pdf_guard
from ._sign_service import DEFAULT_MAX_PDF_BYTES

__all__ = ("ArchivalState", "archival_state")


@dataclass(frozen=True)
class ArchivalState:
    """The archival protection of a document.

    Attributes:
        document_timestamps: How many document timestamps the document has.
        newest_timestamp: When the newest document timestamp was made (``None`` without one).
        protected_until: When the newest timestamp's TSA certificate expires (``None`` without a timestamp):
            renew before this, with a margin.
        authority: The TSA certificate's subject of the newest timestamp.
    """

    document_timestamps: int
    newest_timestamp: dt.datetime | None
    protected_until: dt.datetime | None
    authority: str | None

    def renewal_due(self, margin: dt.timedelta, now: dt.datetime | None = None) -> bool:
        """Whether a document with document timestamps needs a new one now (``protected_until - margin`` passed)."""
        if self.protected_until is None:
            return False
        return (now or dt.datetime.now(dt.UTC)) >= self.protected_until - margin


async def archival_state(pdf: bytes, *, max_pdf_bytes: int = DEFAULT_MAX_PDF_BYTES) -> ArchivalState:
    """Read a document's document timestamps and when the newest one's certificate expires.

    Raises:
        InvalidPdf: The document cannot be parsed or its newest timestamp cannot be read.
    """
    parsed = await asyncio.to_thread(open_reader, pdf, max_pdf_bytes)
    timestamps = parsed.reader.embedded_timestamp_signatures
    if not timestamps:
        return ArchivalState(0, None, None, None)
    newest = timestamps[-1]

    def read() -> ArchivalState:
        cert = newest.signer_cert
        info = newest.signed_data["encap_content_info"]["content"].parsed
        return ArchivalState(
            document_timestamps=len(timestamps),
            newest_timestamp=info["gen_time"].native,
            protected_until=cert["tbs_certificate"]["validity"]["not_after"].native,
            authority=cert.subject.human_friendly,
        )

    return pdf_guard(read, "The document's newest timestamp cannot be read.")
