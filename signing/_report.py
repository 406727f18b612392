"""Verification results: frozen, JSON-ready, with pyHanko's classic verdict and the ETSI indication side by side."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

__all__ = (
    "AdesVerdict",
    "SignatureReport",
    "SignerIdentity",
    "TimestampInfo",
    "VerificationReport",
    "format_report_text",
)

SignatureKind = Literal["signature", "document_timestamp"]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class SignerIdentity:
    """Who signed, as read from the signing certificate.

    Attributes:
        subject: The subject's distinguished name, human-readable.
        issuer: The issuer's distinguished name, human-readable.
        serial: The certificate serial number, lowercase hex.
        sha256_fingerprint: SHA-256 of the certificate's DER encoding, lowercase hex.
    """

    subject: str
    issuer: str
    serial: str
    sha256_fingerprint: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "serial": self.serial,
            "sha256_fingerprint": self.sha256_fingerprint,
        }


@dataclass(frozen=True)
class TimestampInfo:
    """The signature timestamp (for a signature) or the timestamp itself (for a document timestamp).

    Attributes:
        time: The time asserted by the timestamp authority.
        trusted: Whether the timestamp token is intact, valid and chains to a trust root.
    """

    time: datetime
    trusted: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {"time": _iso(self.time), "trusted": self.trusted}


@dataclass(frozen=True)
class AdesVerdict:
    """The outcome of ETSI EN 319 102-1 long-term (LTA) validation, as computed by pyHanko.

    Attributes:
        indication: ``PASSED``, ``INDETERMINATE`` or ``FAILED``.
        subindication: The ETSI sub-indication (for example ``NO_POE``), ``None`` when passed.
    """

    indication: str
    subindication: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping, labelled with the standard it follows."""
        return {
            "standard": "ETSI EN 319 102-1",
            "indication": self.indication,
            "subindication": self.subindication,
        }


@dataclass(frozen=True)
class SignatureReport:
    """The verification result of one signature or document timestamp.

    Attributes:
        field: The signature field's name.
        kind: ``signature`` or ``document_timestamp``.
        signer: The signing (or TSA) certificate's identity; ``None`` if it could not be read.
        signing_time: The best known signing time: the timestamp's time if there is one, else the time the
            signer claims (not proof).
        timestamp: The signature timestamp (signatures) or the timestamp itself (document timestamps).
        intact: The signed bytes are unchanged.
        valid: The cryptographic signature checks out.
        trusted: The certificate chains to a trust root and is usable (pyHanko classic validation).
        revoked: The certificate (or an issuer) was found revoked.
        coverage: How much of the file the signature covers (``ENTIRE_FILE``, ``ENTIRE_REVISION``, ...).
        modifications: What changed after signing (``NONE``, ``LTA_UPDATES``, ``FORM_FILLING``,
            ``ANNOTATIONS``, ``OTHER``); ``None`` if unknown.
        docmdp_ok: Changes after signing are allowed by the document's modification policy.
        pades_level: The PAdES baseline level the signature's structure shows (``B-B`` ... ``B-LTA``);
            ``None`` for non-PAdES signatures. This describes structure, it is not a validity claim.
        bottom_line: pyHanko's classic verdict (intact, valid, trusted, timestamp and modification checks).
        summary: pyHanko's classic summary string (for example ``INTACT:TRUSTED,UNTOUCHED``).
        ades: The ETSI EN 319 102-1 verdict; ``None`` for document timestamps or when it could not be
            computed.
        problems: Client-safe notes on what went wrong, if anything.
    """

    field: str
    kind: SignatureKind
    signer: SignerIdentity | None
    signing_time: datetime | None
    timestamp: TimestampInfo | None
    intact: bool
    valid: bool
    trusted: bool
    revoked: bool
    coverage: str | None
    modifications: str | None
    docmdp_ok: bool | None
    pades_level: str | None
    bottom_line: bool
    summary: str
    ades: AdesVerdict | None
    problems: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        """Whether this signature passes: pyHanko's classic bottom line."""
        return self.bottom_line

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping with the keys documented in API.md."""
        return {
            "field": self.field,
            "kind": self.kind,
            "signer": self.signer.to_dict() if self.signer else None,
            "signing_time": _iso(self.signing_time),
            "timestamp": self.timestamp.to_dict() if self.timestamp else None,
            "intact": self.intact,
            "valid": self.valid,
            "trusted": self.trusted,
            "revoked": self.revoked,
            "coverage": self.coverage,
            "modifications": self.modifications,
            "docmdp_ok": self.docmdp_ok,
            "pades_level": self.pades_level,
            "bottom_line": self.bottom_line,
            "bottom_line_source": "pyHanko classic validation",
            "summary": self.summary,
            "ades": self.ades.to_dict() if self.ades else None,
            "problems": list(self.problems),
        }


@dataclass(frozen=True)
class VerificationReport:
    """The verification result of a whole document.

    Attributes:
        signatures: One entry per signature and document timestamp, in document order.
        notes: Document-level notes (for example ``parsed leniently``).
    """

    signatures: tuple[SignatureReport, ...]
    notes: tuple[str, ...] = ()

    @property
    def all_passed(self) -> bool:
        """True when the document has at least one signature and every entry passes its classic bottom line."""
        return bool(self.signatures) and all(s.passed for s in self.signatures)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping with stable keys (see API.md)."""
        return {
            "signatures": [s.to_dict() for s in self.signatures],
            "notes": list(self.notes),
            "all_passed": self.all_passed,
        }


def _yes(flag: bool | None) -> str:
    return "unknown" if flag is None else ("yes" if flag else "no")


def _signature_lines(sig: SignatureReport) -> list[str]:
    lines = [f"{sig.kind.replace('_', ' ')} in field {sig.field!r}"]
    if sig.signer is not None:
        lines += [f"  signer:        {sig.signer.subject}", f"  issued by:     {sig.signer.issuer}"]
    lines.append(f"  signing time:  {_iso(sig.signing_time) or 'unknown'}")
    if sig.timestamp is not None:
        trust = "trusted" if sig.timestamp.trusted else "NOT trusted"
        lines.append(f"  timestamp:     {_iso(sig.timestamp.time)} ({trust})")
    lines += [
        f"  intact: {_yes(sig.intact)}, valid: {_yes(sig.valid)}, trusted: {_yes(sig.trusted)},"
        f" revoked: {_yes(sig.revoked)}",
        f"  coverage: {sig.coverage or 'unknown'}; modifications after signing: {sig.modifications or 'unknown'}",
        f"  PAdES level (structure): {sig.pades_level or 'n/a'}",
        f"  pyHanko classic verdict: {'VALID' if sig.bottom_line else 'NOT VALID'} ({sig.summary})",
    ]
    if sig.ades is not None:
        sub = f" / {sig.ades.subindication}" if sig.ades.subindication else ""
        lines.append(f"  ETSI EN 319 102-1 indication: {sig.ades.indication}{sub}")
    lines += [f"  problem: {p}" for p in sig.problems]
    return lines


def format_report_text(report: VerificationReport) -> str:
    """Render a report for people (the ``vault verify`` command)."""
    if not report.signatures:
        lines = ["No signatures found."]
    else:
        lines = []
        for sig in report.signatures:
            lines += _signature_lines(sig)
            lines.append("")
        lines.append("RESULT: " + ("all signatures passed" if report.all_passed else "NOT all signatures passed"))
    lines += [f"note: {n}" for n in report.notes]
    return "\n".join(lines) + "\n"
