"""Regenerate the small test PDFs in this directory: ``python tests/data/pdf/make_pdfs.py``."""

from __future__ import annotations

import zlib
from pathlib import Path

HERE = Path(__file__).parent


def _pdf(objects: list[bytes]) -> bytes:
    """Serialise numbered objects (1-based) with a correct xref table; object 1 is the catalog."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d%s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def minimal_pdf() -> bytes:
    """One A4 page saying hello in Helvetica."""
    content = b"BT /F1 18 Tf 72 760 Td (Citizen Vault test document) Tj ET"
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
            b" /Resources << /Font << /F1 5 0 R >> >> >>",
            _stream(content),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
    )


def bomb_pdf() -> bytes:
    """A PDF whose catalog sits in an object stream that inflates from ~250 KiB to 256 MiB.

    The reader must decode the object stream to find the catalog, so the decompression limits are exercised
    by any parse, not just by content rendering.
    """
    catalog = b"<< /Type /Catalog /Pages 2 0 R >>"
    header = b"1 0 "
    objstm_data = header + catalog + b" " * (256 * 1024 * 1024)
    objstm = zlib.compress(objstm_data, 9)
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    bodies = {
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        4: _stream(objstm, b" /Type /ObjStm /N 1 /First %d /Filter /FlateDecode" % len(header)),
    }
    for number, body in bodies.items():
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_offset = len(out)
    rows = [b"\x00" + (0).to_bytes(4, "big") + (65535).to_bytes(2, "big")]
    rows.append(b"\x02" + (4).to_bytes(4, "big") + (0).to_bytes(2, "big"))  # object 1: in stream 4, index 0
    rows += [b"\x01" + offsets[n].to_bytes(4, "big") + (0).to_bytes(2, "big") for n in (2, 3, 4)]
    rows.append(b"\x01" + xref_offset.to_bytes(4, "big") + (0).to_bytes(2, "big"))
    xref_data = b"".join(rows)
    out += b"5 0 obj\n" + _stream(xref_data, b" /Type /XRef /Size 6 /W [1 4 2] /Root 1 0 R") + b"\nendobj\n"
    out += b"startxref\n%d\n%%%%EOF\n" % xref_offset
    return bytes(out)


if __name__ == "__main__":
    (HERE / "minimal.pdf").write_bytes(minimal_pdf())
    (HERE / "bomb.pdf").write_bytes(bomb_pdf())
