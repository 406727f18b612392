"""Verification results: frozen msgspec structs (JSON and OpenAPI-ready), one verdict a person can read, with
pyHanko's classic verdict and the ETSI EN 319 102-1 indication kept beside it, labelled."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

__all__ = (
    "AdesVerdict",
    "Qualification",
    "QualifiedStatus",
    "Revocation",
    "SignatureKind",
    "SignatureReport",
    "SignerIdentity",
    "TimestampInfo",
    "Verdict",
    "VerificationReport",
)

SignatureKind = Literal["signature", "document_timestamp"]
Verdict = Literal["passed", "failed", "indeterminate"]
"""``passed``; ``failed`` (it will not pass later); ``indeterminate`` (cannot tell yet: missing revocation data,
an unreachable responder, an unknown signer)."""
Revocation = Literal["good", "revoked", "unknown"]
"""Revocation status of the signer's chain: checked and good, revoked, or never established (never a pass)."""
AdesProcess = Literal["basic", "with_time", "long_term"]
QualifiedStatus = Literal["qualified", "not-qualified", "unknown"]
"""The qualified status a trusted list gives a certificate or timestamp: ``unknown`` when it cannot be assessed."""
TRUSTED_LIST_ASSESSMENT = "EU trusted list (ETSI TS 119 612), assessed with pyHanko"


class _Report(msgspec.Struct, frozen=True, kw_only=True):
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping (the keys documented in API.md)."""
        out: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(self))
        return out


class SignerIdentity(_Report, frozen=True, kw_only=True):
    """Who signed, as read from the signing certificate.

    Attributes:
        subject: The subject's distinguished name, human-readable.
        issuer: The issuer's distinguished name, human-readable.
        serial: The certificate serial number, lowercase hex.
        sha256_fingerprint: SHA-256 of the certificate's DER encoding, lowercase hex.
        not_after: The end of the certificate's validity.
    """

    subject: str
    issuer: str
    serial: str
    sha256_fingerprint: str
    not_after: datetime | None = None


class Qualification(_Report, frozen=True, kw_only=True):
    """The qualified status (eIDAS) a configured trusted list gives a signer's certificate or a timestamp.

    Attributes:
        status: ``qualified``, ``not-qualified`` or ``unknown`` (the assessment could not be made).
        source: Labels the assessment: always the trusted list, assessed with pyHanko.
        service: The name of the listed service the status comes from, if one applies.
        service_type: ``CA/QC`` (qualified certificates) or ``TSA/QTST`` (qualified timestamps).
        certificate_type: For a signer: ``qc-esig``, ``qc-eseal`` or ``qc-web`` (QCert for electronic
            signatures, seals, website authentication); ``None`` when not qualified or for timestamps.
        qscd: For a qualified signer: ``qscd`` (key in a qualified signature creation device),
            ``qscd-managed-on-behalf``, ``qscd-by-policy`` (pre-eIDAS policy) or ``not-declared``.
        assessed_at: The time the status holds for: the proven signing time (a trusted signature timestamp),
            the timestamp's own time, or else the validation time.
        reason: Why, in one sentence.
        list_signature_checked: Whether the trusted list's own XML signature was verified against its
            configured signer (``False``: the operator vouched for the file).
        list_next_update: When the list said its next issue was due; past it, every status is ``unknown``.
    """

    status: QualifiedStatus
    source: str = TRUSTED_LIST_ASSESSMENT
    service: str | None = None
    service_type: str | None = None
    certificate_type: str | None = None
    qscd: str | None = None
    assessed_at: datetime
    reason: str
    list_signature_checked: bool
    list_next_update: datetime | None = None


class TimestampInfo(_Report, frozen=True, kw_only=True):
    """The signature timestamp (for a signature) or the timestamp itself (for a document timestamp).

    Attributes:
        time: The time asserted by the timestamp authority.
        trusted: Whether the timestamp token is intact, valid and chains to a trust root.
        authority: The timestamp authority's certificate subject, if readable.
        qualification: The timestamp's qualified status (QTST) from the configured trusted list; ``None``
            without a trusted list.
    """

    time: datetime
    trusted: bool
    authority: str | None = None
    qualification: Qualification | None = None


class AdesVerdict(_Report, frozen=True, kw_only=True):
    """The outcome of ETSI EN 319 102-1 validation, as computed by pyHanko with the process the signature's
    structure calls for, revocation information required.

    Attributes:
        standard: Always ``ETSI EN 319 102-1``.
        indication: ``PASSED``, ``INDETERMINATE`` or ``FAILED``.
        subindication: The ETSI sub-indication (for example ``NO_POE``), ``None`` when passed.
        process: ``basic`` (§5.3), ``with_time`` (§5.5) or ``long_term`` (§5.6.3).
        validation_time: The time the signature was validated as of (the signature timestamp's time for a
            B-LT signature validated at its proof of existence).
        failure_message: pyHanko's explanation, when it gave one.
        pyhanko_indication: pyHanko's own indication and sub-indication when ours differs (illegal
            modifications after signing downgrade a PASSED), else ``None``.
    """

    standard: str = "ETSI EN 319 102-1"
    indication: str
    subindication: str | None
    process: AdesProcess | None = None
    validation_time: datetime | None = None
    failure_message: str | None = None
    pyhanko_indication: str | None = None


class SignatureReport(_Report, frozen=True, kw_only=True):
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
        trusted: The certificate chains to a trust root and is usable (pyHanko classic validation, revocation
            soft-fail).
        revoked: The certificate (or an issuer) was found revoked (classic validation).
        coverage: How much of the file the signature covers (``ENTIRE_FILE``, ``ENTIRE_REVISION``, ...).
        modifications: What changed after signing (``NONE``, ``LTA_UPDATES``, ``FORM_FILLING``,
            ``ANNOTATIONS``, ``OTHER``); ``None`` if unknown.
        docmdp_ok: Changes after signing are allowed by the document's modification policy.
        pades_level: The PAdES baseline level the signature's structure shows (``B-B`` ... ``B-LTA``; B-LT only
            when revocation data for the whole chain is embedded); ``None`` for non-PAdES signatures. This
            describes structure, it is not a validity claim.
        bottom_line: pyHanko's classic verdict (intact, valid, trusted, timestamp and modification checks).
        bottom_line_source: Labels ``bottom_line``: always ``pyHanko classic validation``.
        summary: pyHanko's classic summary string (for example ``INTACT:TRUSTED,UNTOUCHED``).
        ades: The ETSI EN 319 102-1 verdict; ``None`` for document timestamps or when it could not be computed.
        problems: Client-safe notes on what went wrong, if anything.
        verdict: The one verdict for people: ``passed``, ``failed`` or ``indeterminate`` (cannot tell yet).
        verdict_reason: Why, in one sentence.
        revocation: ``good``, ``revoked`` or ``unknown`` (never checked or not establishable).
        qualification: The signer's qualified status (for a document timestamp: the timestamp's) from the
            configured trusted list; ``None`` without a trusted list.
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
    bottom_line_source: str = "pyHanko classic validation"
    summary: str
    ades: AdesVerdict | None
    problems: tuple[str, ...] = ()
    verdict: Verdict = "indeterminate"
    verdict_reason: str = "not evaluated"
    revocation: Revocation = "unknown"
    qualification: Qualification | None = None

    @property
    def passed(self) -> bool:
        """pyHanko's classic bottom line (kept for compatibility; see :attr:`verdict` for the verdict)."""
        return self.bottom_line


_SEVERITY: dict[Verdict, int] = {"passed": 0, "indeterminate": 1, "failed": 2}


class VerificationReport(_Report, frozen=True, kw_only=True):
    """The verification result of a whole document.

    Attributes:
        signatures: One entry per signature and document timestamp, in document order.
        notes: Document-level notes (for example ``parsed leniently``).
        all_passed: Computed: the document has a signature and every classic bottom line passes (pyHanko).
        verdict: Computed: ``passed`` when every entry passed, ``failed`` when any failed, else
            ``indeterminate``; a document without signatures is ``indeterminate``.
        verdict_reason: Computed: why, naming the first entry that decided it.
    """

    signatures: tuple[SignatureReport, ...]
    notes: tuple[str, ...] = ()
    all_passed: bool = False
    verdict: Verdict = "indeterminate"
    verdict_reason: str = ""

    def __post_init__(self) -> None:
        sigs = self.signatures
        msgspec.structs.force_setattr(self, "all_passed", bool(sigs) and all(s.bottom_line for s in sigs))
        if not sigs:
            verdict: Verdict = "indeterminate"
            reason = "the document has no signatures"
        else:
            worst = max(sigs, key=lambda s: _SEVERITY[s.verdict])
            verdict = worst.verdict
            reason = (
                f"all {len(sigs)} signature(s) passed"
                if verdict == "passed"
                else f"{worst.kind.replace('_', ' ')} {worst.field!r}: {worst.verdict_reason}"
            )
        msgspec.structs.force_setattr(self, "verdict", verdict)
        msgspec.structs.force_setattr(self, "verdict_reason", reason)
