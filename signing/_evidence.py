"""Signing evidence: who signed, when, what and with which certificate, plus the log's inclusion proof.

Evidence is a separate file (JSON for machines, a small PDF for people). It is never appended to the signed PDF:
any change after signing would break the signature. Everything but the identity and the inclusion proof is read
from the signed document itself, so the evidence cannot disagree with it.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from asn1crypto import pem
from pyhanko.sign.validation.generic_cms import extract_tst_data_iter
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

from ._certs import fingerprint
from ._errors import InvalidPdf
from ._identity import VerifiedIdentity
from ._pdfio import MALFORMED_PDF_ERRORS, open_reader
from ._sign_service import DEFAULT_MAX_PDF_BYTES
from ._textpdf import TextLine, text_pdf

__all__ = ("EVIDENCE_FORMAT", "SigningEvidence", "build_evidence")

EVIDENCE_FORMAT = "citizen-vault/signing-evidence/v1"


@dataclass(frozen=True)
class SigningEvidence:
    """The evidence of one signature.

    Attributes:
        document_sha256: SHA-256 of the signed PDF (hex).
        field: The signature field.
        identity: Who the identity provider said the signer is (``None`` for an organisation seal).
        signer: The certificate: subject, issuer, serial, SHA-256 fingerprint, validity, and the DER (base64).
        timestamp: The signature timestamp: ``time`` (ISO 8601, UTC) and ``authority``; ``None`` without one.
        claimed_signing_time: The signer's own claim (``signingTime``), ISO 8601, when present.
        inclusion_proof: The transparency-log proof of the signing event, exactly as the caller passed it.
        created: When this evidence was put together (ISO 8601, UTC).
    """

    document_sha256: str
    field: str
    identity: VerifiedIdentity | None
    signer: Mapping[str, str]
    timestamp: Mapping[str, str] | None
    claimed_signing_time: str | None
    inclusion_proof: Any
    created: str

    def to_dict(self) -> dict[str, Any]:
        """The evidence as JSON-ready data."""
        identity = None
        if self.identity is not None:
            identity = {
                "name": self.identity.name, "issuer": self.identity.issuer, "subject": self.identity.subject,
                "uri": self.identity.uri, "acr": self.identity.acr,
            }
        return {
            "format": EVIDENCE_FORMAT,
            "document": {"sha256": self.document_sha256, "signature_field": self.field},
            "identity": identity,
            "certificate": dict(self.signer),
            "timestamp": None if self.timestamp is None else dict(self.timestamp),
            "claimed_signing_time": self.claimed_signing_time,
            "inclusion_proof": self.inclusion_proof,
            "created": self.created,
        }

    def to_json(self) -> bytes:
        """UTF-8 JSON, keys sorted, for machines."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False).encode()

    def to_pdf(self) -> bytes:
        """A small PDF for people (names outside Latin-1 show as ``?``; the JSON keeps them exactly)."""
        lines = [TextLine("title", "Signing evidence"), TextLine("body", f"Created {self.created}")]
        lines.append(TextLine("heading", "Who"))
        if self.identity is not None:
            lines += [
                TextLine("body", f"Name: {self.identity.name}"),
                TextLine("body", f"Identity: {self.identity.uri}"),
                TextLine("body", f"Verified by: {self.identity.issuer}"),
                TextLine("body", f"Assurance level (acr): {self.identity.acr or 'not stated'}"),
            ]
        lines.append(TextLine("body", f"Certificate subject: {self.signer['subject']}"))
        lines.append(TextLine("heading", "When"))
        if self.timestamp is not None:
            lines += [TextLine("body", f"Timestamp: {self.timestamp['time']}"),
                      TextLine("body", f"Timestamp authority: {self.timestamp['authority']}")]
        else:
            lines.append(TextLine("body", "No trusted timestamp."))
        if self.claimed_signing_time:
            lines.append(TextLine("body", f"Signing time claimed by the signer: {self.claimed_signing_time}"))
        lines += [
            TextLine("heading", "What"),
            TextLine("body", f"Signed document SHA-256: {self.document_sha256}"),
            TextLine("body", f"Signature field: {self.field}"),
            TextLine("heading", "Certificate"),
            TextLine("body", f"Issuer: {self.signer['issuer']}"),
            TextLine("body", f"Serial: {self.signer['serial']}"),
            TextLine("body", f"Valid: {self.signer['not_before']} to {self.signer['not_after']}"),
            TextLine("body", f"SHA-256 fingerprint: {self.signer['sha256']}"),
            *[TextLine("mono", line) for line in self.signer["pem"].splitlines()],
            TextLine("heading", "Transparency log inclusion proof"),
            *[TextLine("mono", line) for line in json.dumps(self.inclusion_proof, indent=1).splitlines()],
        ]
        return text_pdf(lines, title=f"Signing evidence {self.document_sha256[:16]}")


async def build_evidence(
    signed_pdf: bytes,
    *,
    identity: VerifiedIdentity | None = None,
    inclusion_proof: Any = None,
    field: str | None = None,
    max_pdf_bytes: int = DEFAULT_MAX_PDF_BYTES,
) -> SigningEvidence:
    """Put together the evidence of one signature in `signed_pdf`.

    Args:
        signed_pdf: The signed document.
        identity: The verified identity of a personal signature (``None`` for a seal).
        inclusion_proof: The transparency log's inclusion proof of the signing event: any JSON-serialisable
            value, kept as given.
        field: The signature field; ``None`` takes the newest signature.
        max_pdf_bytes: Largest document accepted.

    Raises:
        InvalidPdf: The document cannot be parsed, has no such signature, or the proof is not JSON-serialisable.
    """
    try:
        json.dumps(inclusion_proof)
    except (TypeError, ValueError) as exc:
        raise InvalidPdf("The inclusion proof must be JSON-serialisable.") from exc
    parsed = await asyncio.to_thread(open_reader, signed_pdf, max_pdf_bytes)
    signatures = parsed.reader.embedded_regular_signatures
    chosen = [s for s in signatures if field is None or s.field_name == field]
    if not chosen:
        raise InvalidPdf("The document has no such signature.")
    try:
        return _evidence(chosen[-1], signed_pdf, identity, inclusion_proof)
    except MALFORMED_PDF_ERRORS as exc:
        raise InvalidPdf("The signature cannot be read.") from exc


def _evidence(
    sig: EmbeddedPdfSignature, pdf: bytes, identity: VerifiedIdentity | None, proof: Any
) -> SigningEvidence:
    cert = sig.signer_cert
    validity = cert["tbs_certificate"]["validity"]
    signer = {
        "subject": cert.subject.human_friendly,
        "issuer": cert.issuer.human_friendly,
        "serial": format(cert.serial_number, "x"),
        "sha256": fingerprint(cert),
        "not_before": _iso(validity["not_before"].native),
        "not_after": _iso(validity["not_after"].native),
        "der_base64": base64.b64encode(cert.dump()).decode(),
        "pem": pem.armor("CERTIFICATE", cert.dump()).decode(),
    }
    timestamp = None
    for token in extract_tst_data_iter(sig.signer_info, signed=False):
        info = token["encap_content_info"]["content"].parsed
        tsa = info["tsa"]
        if tsa.native is None:
            authority = "(not named)"
        elif tsa.name == "directory_name":
            authority = tsa.chosen.human_friendly
        else:
            authority = str(tsa.chosen.native)
        timestamp = {"time": _iso(info["gen_time"].native), "authority": authority}
        break
    claimed = sig.self_reported_timestamp
    return SigningEvidence(
        document_sha256=hashlib.sha256(pdf).hexdigest(),
        field=sig.field_name,
        identity=identity,
        signer=signer,
        timestamp=timestamp,
        claimed_signing_time=None if claimed is None else _iso(claimed),
        inclusion_proof=proof,
        created=_iso(dt.datetime.now(dt.UTC).replace(microsecond=0)),
    )


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
