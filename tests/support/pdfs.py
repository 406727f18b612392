"""PDFs the tests build: the many-signatures attack of issue "Hardening" 1."""

from __future__ import annotations

from io import BytesIO

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

__all__ = ("with_signature_copies",)


def with_signature_copies(signed: bytes, copies: int) -> bytes:
    """The attack: extra signature fields whose /V is the one real signature (many "signatures" for one)."""
    writer = IncrementalPdfFileWriter(BytesIO(signed))
    fields = writer.root["/AcroForm"]["/Fields"]
    value = fields[0].get_object().raw_get("/V")
    for i in range(copies):
        field = generic.DictionaryObject(
            {
                generic.NameObject("/FT"): generic.NameObject("/Sig"),
                generic.NameObject("/T"): generic.TextStringObject(f"Copy{i}"),
                generic.NameObject("/V"): value,
            }
        )
        fields.append(writer.add_object(field))
    writer.update_container(fields)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()
