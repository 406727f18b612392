"""Report objects: stable JSON keys, the pass rule, the human rendering; request model and error details."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from signing import (
    AdesVerdict,
    CertificateProblem,
    InvalidPdf,
    PadesLevel,
    SignatureReport,
    SignerIdentity,
    SignerRevoked,
    SigningError,
    TimestampInfo,
    VerificationReport,
    VisibleStamp,
    format_report_text,
)

WHEN = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
GOOD = SignatureReport(
    field="citizen",
    kind="signature",
    signer=SignerIdentity(
        subject="Common Name: Alice", issuer="Common Name: CA", serial="1001", sha256_fingerprint="ab" * 32
    ),
    signing_time=WHEN,
    timestamp=TimestampInfo(time=WHEN, trusted=True),
    intact=True,
    valid=True,
    trusted=True,
    revoked=False,
    coverage="ENTIRE_FILE",
    modifications="NONE",
    docmdp_ok=True,
    pades_level="B-T",
    bottom_line=True,
    summary="INTACT:TRUSTED,UNTOUCHED",
    ades=AdesVerdict(indication="PASSED", subindication=None, process="with_time", validation_time=WHEN),
    verdict="passed",
    verdict_reason="intact, signed by a trusted certificate, revocation checked",
    revocation="good",
)
BAD = msgspec.structs.replace(
    GOOD,
    field="other",
    trusted=False,
    bottom_line=False,
    problems=("certificate not trusted",),
    verdict="failed",
    verdict_reason="the signing certificate does not chain to a trusted root",
)
UNKNOWN = msgspec.structs.replace(
    GOOD,
    field="third",
    revocation="unknown",
    verdict="indeterminate",
    verdict_reason="cannot tell yet: revocation",
    ades=AdesVerdict(indication="INDETERMINATE", subindication="NO_POE", process="basic", failure_message="why"),
)


def test_signature_entry_has_the_documented_keys() -> None:
    entry = GOOD.to_dict()
    assert list(entry) == [
        "field",
        "kind",
        "signer",
        "signing_time",
        "timestamp",
        "intact",
        "valid",
        "trusted",
        "revoked",
        "coverage",
        "modifications",
        "docmdp_ok",
        "pades_level",
        "bottom_line",
        "bottom_line_source",
        "summary",
        "ades",
        "problems",
        "verdict",
        "verdict_reason",
        "revocation",
        "qualification",
    ]
    assert entry["qualification"] is None  # no trusted list configured
    assert entry["signer"] == {
        "subject": "Common Name: Alice",
        "issuer": "Common Name: CA",
        "serial": "1001",
        "sha256_fingerprint": "ab" * 32,
        "not_after": None,
    }
    assert entry["timestamp"] == {
        "time": "2026-11-28T12:00:00Z",
        "trusted": True,
        "authority": None,
        "qualification": None,
    }
    assert entry["ades"] == {
        "standard": "ETSI EN 319 102-1",
        "indication": "PASSED",
        "subindication": None,
        "process": "with_time",
        "validation_time": "2026-11-28T12:00:00Z",
        "failure_message": None,
        "pyhanko_indication": None,
    }
    assert entry["bottom_line_source"] == "pyHanko classic validation"


def test_report_objects_are_frozen() -> None:
    with pytest.raises(AttributeError):
        GOOD.trusted = False  # type: ignore[misc]


def test_reports_have_a_json_schema_for_openapi() -> None:
    schema = msgspec.json.schema(VerificationReport)
    report = schema["$defs"]["VerificationReport"]["properties"]
    assert {"signatures", "notes", "all_passed", "verdict", "verdict_reason"} <= set(report)
    assert schema["$defs"]["SignatureReport"]["properties"]["verdict"]["enum"] == ["failed", "indeterminate", "passed"]


@pytest.mark.parametrize(
    ("signatures", "verdict", "reason"),
    [
        ((), "indeterminate", "the document has no signatures"),
        ((GOOD, GOOD), "passed", "all 2 signature(s) passed"),
        ((GOOD, UNKNOWN), "indeterminate", "signature 'third': cannot tell yet: revocation"),
        ((UNKNOWN, BAD, GOOD), "failed", "signature 'other': the signing certificate does not chain to a trusted root"),
    ],
    ids=["none", "all-good", "one-unknown", "one-failed"],
)
def test_document_verdict_is_the_worst_signature_verdict(
    signatures: tuple[SignatureReport, ...], verdict: str, reason: str
) -> None:
    report = VerificationReport(signatures=signatures)
    assert (report.verdict, report.verdict_reason) == (verdict, reason)


@pytest.mark.parametrize(
    ("signatures", "passed"),
    [((), False), ((GOOD,), True), ((GOOD, GOOD), True), ((GOOD, BAD), False)],
    ids=["no-signatures", "one-good", "two-good", "one-bad"],
)
def test_all_passed_needs_at_least_one_signature_and_every_bottom_line(
    signatures: tuple[SignatureReport, ...], passed: bool
) -> None:
    report = VerificationReport(signatures=signatures)
    assert report.all_passed is passed
    assert report.to_dict()["all_passed"] is passed


def test_text_rendering_labels_both_verdicts() -> None:
    text = format_report_text(VerificationReport(signatures=(GOOD, BAD), notes=("parsed leniently",)))
    assert "verdict:       PASSED: intact, signed by a trusted certificate, revocation checked" in text
    assert "pyHanko classic verdict: VALID (INTACT:TRUSTED,UNTOUCHED)" in text
    assert "pyHanko classic verdict: NOT VALID" in text
    assert "ETSI EN 319 102-1 indication: PASSED (with_time validation)" in text
    assert "problem: certificate not trusted" in text
    assert "RESULT: FAILED: signature 'other': the signing certificate does not chain to a trusted root" in text
    assert "pyHanko classic result: NOT all signatures passed" in text
    assert text.endswith("note: parsed leniently\n")


def test_text_rendering_of_an_unsigned_document() -> None:
    assert format_report_text(VerificationReport(signatures=())) == "No signatures found.\n"


@pytest.mark.parametrize(
    ("level", "timestamp", "dss"),
    [
        (PadesLevel.B_B, False, False),
        (PadesLevel.B_T, True, False),
        (PadesLevel.B_LT, True, True),
        (PadesLevel.B_LTA, True, True),
    ],
)
def test_pades_level_requirements(level: PadesLevel, timestamp: bool, dss: bool) -> None:
    assert (level.needs_timestamp, level.embeds_validation_info) == (timestamp, dss)
    assert PadesLevel(level.value) is level


@pytest.mark.parametrize(
    ("error", "detail"),
    [
        (InvalidPdf(), "The document is not a readable PDF."),
        (InvalidPdf("too big"), "too big"),
        (SignerRevoked(), "The signing certificate has been revoked."),
    ],
)
def test_errors_carry_a_client_safe_detail(error: SigningError, detail: str) -> None:
    assert error.detail == detail
    assert str(error) == detail
    assert isinstance(error, SigningError)


def test_revoked_is_a_certificate_problem() -> None:
    assert issubclass(SignerRevoked, CertificateProblem)


@pytest.mark.parametrize(
    ("page", "box"),
    [(-1, (50, 50, 300, 120)), (0, (300, 50, 50, 120)), (0, (50, 120, 300, 120))],
    ids=["negative-page", "x-reversed", "zero-height"],
)
def test_stamp_geometry_is_checked(page: int, box: tuple[int, int, int, int]) -> None:
    with pytest.raises(ValueError, match="stamp"):
        VisibleStamp(page=page, box=box)
