"""Opening PDFs from outside safely: size and decompression limits, strict then lenient parsing."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from io import BytesIO
from typing import TypeVar

from pyhanko.pdf_utils.decode_limits import DecodeLimits
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields

from ._errors import InvalidPdf

__all__ = ("MALFORMED_PDF_ERRORS", "ParsedPdf", "open_reader", "open_writer", "pdf_guard")

T = TypeVar("T")

# What pyHanko's parser raises on hostile or broken input besides its own PdfError hierarchy (which covers
# PdfReadError, PdfStrictReadError and PdfDecodeLimitError).
MALFORMED_PDF_ERRORS: tuple[type[BaseException], ...] = (
    PdfError,
    zlib.error,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    AttributeError,
    NotImplementedError,
    RecursionError,
)


def pdf_guard(action: Callable[[], T], detail: str) -> T:
    """Run `action`, turning parser failures on untrusted bytes into :class:`InvalidPdf`."""
    try:
        return action()
    except MALFORMED_PDF_ERRORS as exc:
        raise InvalidPdf(detail) from exc


class ParsedPdf:
    """A reader together with how it was obtained.

    Attributes:
        reader: The pyHanko reader.
        lenient: Whether the strict parser refused the file and the lenient one was used.
    """

    def __init__(self, reader: PdfFileReader, lenient: bool) -> None:
        self.reader = reader
        self.lenient = lenient


def _check_header(pdf: bytes, max_bytes: int) -> None:
    if len(pdf) > max_bytes:
        raise InvalidPdf(f"The document is larger than {max_bytes} bytes.")
    if b"%PDF-" not in pdf[:1024]:
        raise InvalidPdf("The document is not a PDF (no %PDF header).")


def _load(pdf: bytes, strict: bool) -> PdfFileReader:
    reader = PdfFileReader(BytesIO(pdf), strict=strict, decode_limits=DecodeLimits.for_untrusted_input())
    # Touch the structures validation needs now, so parser errors surface here and not mid-validation.
    _ = reader.root["/Pages"]
    _ = list(enumerate_sig_fields(reader, filled_status=True))
    return reader


def open_reader(pdf: bytes, max_bytes: int) -> ParsedPdf:
    """Parse strictly, falling back to the lenient parser; blocking, call from a worker thread.

    Raises:
        InvalidPdf: Neither parser could read the document, or a limit was exceeded.
    """
    _check_header(pdf, max_bytes)
    try:
        return ParsedPdf(_load(pdf, strict=True), lenient=False)
    except MALFORMED_PDF_ERRORS:
        pass
    return ParsedPdf(pdf_guard(lambda: _load(pdf, strict=False), "The document is not a readable PDF."), True)


def open_writer(pdf: bytes, max_bytes: int) -> IncrementalPdfFileWriter:
    """Open a document for an incremental update (signing); blocking, call from a worker thread.

    Raises:
        InvalidPdf: The document cannot be parsed or a limit was exceeded.
    """
    _check_header(pdf, max_bytes)

    def _open(strict: bool) -> IncrementalPdfFileWriter:
        writer = IncrementalPdfFileWriter(
            BytesIO(pdf), strict=strict, decode_limits=DecodeLimits.for_untrusted_input()
        )
        _ = writer.root["/Pages"]
        return writer

    try:
        return _open(strict=True)
    except MALFORMED_PDF_ERRORS:
        pass
    return pdf_guard(lambda: _open(strict=False), "The document is not a readable PDF.")
