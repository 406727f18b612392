"""Finding the signatures in a document without letting one unreadable signature hide the others."""

from __future__ import annotations

import logging

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import SigSeedSubFilter, enumerate_sig_fields
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

from ._report import SignatureKind, SignatureReport
from ._report_mapping import unreadable_report

__all__ = ("collect_signatures",)

logger = logging.getLogger(__name__)

_KNOWN_SUBFILTERS = frozenset(f.value for f in SigSeedSubFilter)


def collect_signatures(reader: PdfFileReader) -> tuple[list[EmbeddedPdfSignature], list[SignatureReport]]:
    """Every filled signature field: readable ones in signing order, and reports for the unreadable ones.

    pyHanko's own collection skips signatures with an unknown ``/SubFilter`` and fails as a whole on one
    malformed signature; a verification report must show both.
    """
    readable: list[tuple[int, EmbeddedPdfSignature]] = []
    unreadable: list[SignatureReport] = []
    for name, sig_ref, field in enumerate_sig_fields(reader, filled_status=True):
        kind: SignatureKind = "signature"
        try:
            sig_obj = sig_ref.get_object()
            kind = "document_timestamp" if sig_obj.get("/Type") == "/DocTimeStamp" else "signature"
            subfilter = sig_obj.get("/SubFilter")
            if subfilter not in _KNOWN_SUBFILTERS:
                unreadable.append(unreadable_report(name, kind, None, f"unsupported signature format {subfilter}"))
                continue
            embedded = EmbeddedPdfSignature(reader, field, name)
            readable.append((embedded.signed_revision, embedded))
        except Exception as exc:  # untrusted input: a broken CMS blob or byte range in one field
            logger.warning("unreadable signature in field %r: %s", name, type(exc).__name__)
            unreadable.append(unreadable_report(name, kind, None, "the signature cannot be read (malformed)"))
    readable.sort(key=lambda pair: pair[0])
    return [sig for _, sig in readable], unreadable
