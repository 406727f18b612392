"""A tiny PDF writer for plain-text pages (A4, Helvetica/Courier, WinAnsi): enough for a human-readable receipt."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ("TextLine", "text_pdf")

_WIDTH, _HEIGHT, _MARGIN = 595, 842, 56
_FONTS = {"body": ("F1", 10, 14), "title": ("F2", 16, 24), "heading": ("F2", 11, 18), "mono": ("F3", 7, 9)}
_CHARS_PER_LINE = {"body": 95, "title": 55, "heading": 85, "mono": 112}


@dataclass(frozen=True)
class TextLine:
    """One paragraph: its style (``title``, ``heading``, ``body`` or ``mono``) and text (wrapped to the page)."""

    style: str
    text: str


def _escape(text: str) -> bytes:
    # WinAnsi covers Latin-1; anything else becomes "?" (the JSON evidence keeps the exact text).
    data = text.encode("cp1252", errors="replace")
    return data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _pages(lines: Sequence[TextLine]) -> list[bytes]:
    pages: list[bytes] = []
    ops: list[bytes] = []
    y = _HEIGHT - _MARGIN
    for line in lines:
        font, size, leading = _FONTS[line.style]
        width = _CHARS_PER_LINE[line.style]
        wrapped = textwrap.wrap(line.text, width, break_long_words=True, replace_whitespace=False) or [""]
        for piece in wrapped:
            if y - leading < _MARGIN:
                pages.append(b"\n".join(ops))
                ops, y = [], _HEIGHT - _MARGIN
            y -= leading
            ops.append(b"BT /%s %d Tf %d %d Td (%s) Tj ET" % (font.encode(), size, _MARGIN, y, _escape(piece)))
    pages.append(b"\n".join(ops))
    return pages


def text_pdf(lines: Sequence[TextLine], title: str) -> bytes:
    """A PDF document showing `lines`, with `title` in its document information."""
    pages = _pages(lines)
    n = len(pages)
    # Objects: 1 catalog, 2 pages, 3 info, 4-6 fonts, then a page and its content stream per page.
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % (7 + 2 * i) for i in range(n)), n),
        b"<< /Title (%s) /Producer (Citizen Vault) >>" % _escape(title),
    ]
    for base in (b"Helvetica", b"Helvetica-Bold", b"Courier"):
        objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>" % base)
    for i, content in enumerate(pages):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R "
            b"/Resources << /Font << /F1 4 0 R /F2 5 0 R /F3 6 0 R >> >> >>" % (_WIDTH, _HEIGHT, 8 + 2 * i)
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 3 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
