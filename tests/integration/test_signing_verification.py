"""Verification verdicts for damaged, untrusted, revoked, expired, extended and foreign-signed documents."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from signing import InvalidPdf, PadesLevel, PdfSigningService, PdfVerifier, SignatureReport, SignRequest
from tests.services.pki import MINIMAL_PDF, PkiServices, pdfsig

pytestmark = pytest.mark.pki

TEXT = b"Citizen Vault test document"


async def _sign(pki: PkiServices, label: str, level: PadesLevel = PadesLevel.B_B) -> bytes:
    """Sign with one of the PKI's signers, skipping the signer check (to produce bad signatures on purpose)."""
    service = PdfSigningService(
        pki.signer(label), tsa_url=pki.tsa_url, trust_roots=[pki.root_cert], unsafe_skip_signer_check=True
    )
    try:
        return await service.sign(MINIMAL_PDF.read_bytes(), SignRequest(level=level))
    finally:
        await service.aclose()


async def _byte_changed(pki: PkiServices) -> bytes:
    signed = await _sign(pki, "citizen")
    return signed.replace(TEXT, TEXT.replace(b"test", b"tEst"), 1)


async def _appended_update(pki: PkiServices) -> bytes:
    signed = await _sign(pki, "citizen")
    writer = IncrementalPdfFileWriter(BytesIO(signed))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page["/Contents"] = writer.add_object(generic.StreamObject(stream_data=b"BT /F1 18 Tf 72 700 Td (Forged) Tj ET"))
    writer.update_container(page)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


@dataclass(frozen=True)
class Verdict:
    intact: bool
    valid: bool
    trusted: bool
    revoked: bool
    modifications: str | None
    bottom_line: bool
    ades: tuple[str, str | None, str | None]
    revocation: str
    verdict: str

    @classmethod
    def of(cls, sig: SignatureReport) -> Verdict:
        assert sig.ades is not None
        return cls(
            sig.intact,
            sig.valid,
            sig.trusted,
            sig.revoked,
            sig.modifications,
            sig.bottom_line,
            (sig.ades.indication, sig.ades.subindication, sig.ades.process),
            sig.revocation,
            sig.verdict,
        )


Case = Callable[[PkiServices], Awaitable[bytes]]
NEGATIVE_CASES: dict[str, tuple[Case, bool, Verdict]] = {
    # name: (make the document, verify with online fetching?, expected verdict of its only signature).
    # "valid" is the CMS signature over the signed attributes; a changed byte breaks the digest ("intact").
    # The ETSI process follows the structure: B-B → basic validation, B-T → validation with time.
    "byte-changed-after-signing": (
        _byte_changed,
        False,
        Verdict(False, True, False, False, "NONE", False, ("FAILED", "HASH_FAILURE", "basic"), "unknown", "failed"),
    ),
    "untrusted-root": (
        lambda pki: _sign(pki, "rogue"),
        False,
        Verdict(
            True,
            True,
            False,
            False,
            "NONE",
            False,
            ("INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND", "basic"),
            "unknown",
            "failed",
        ),
    ),
    "revoked-signer-fetched": (
        lambda pki: _sign(pki, "revoked", PadesLevel.B_T),
        True,
        Verdict(
            True,
            True,
            False,
            True,
            "NONE",
            False,
            ("INDETERMINATE", "REVOKED_NO_POE", "with_time"),
            "revoked",
            "failed",
        ),
    ),
    "expired-certificate": (
        lambda pki: _sign(pki, "expired", PadesLevel.B_T),
        False,
        Verdict(
            True,
            True,
            False,
            False,
            "NONE",
            False,
            ("INDETERMINATE", "CERTIFICATE_CHAIN_GENERAL_FAILURE", "with_time"),
            "unknown",
            "failed",
        ),
    ),
    # Online, the ETSI process itself passes (it does not look at the PDF's later revisions): the illegal change
    # downgrades it.
    "content-appended-after-signing": (
        _appended_update,
        True,
        Verdict(
            True,
            True,
            True,
            False,
            "OTHER",
            False,
            ("INDETERMINATE", "SIG_CONSTRAINTS_FAILURE", "basic"),
            "good",
            "failed",
        ),
    ),
}


@pytest.mark.parametrize(("make", "online", "expected"), NEGATIVE_CASES.values(), ids=NEGATIVE_CASES.keys())
async def test_bad_signature_gets_exact_verdict(make: Case, online: bool, expected: Verdict, pki: PkiServices) -> None:
    pdf = await make(pki)
    report = await PdfVerifier([pki.root_cert], allow_fetching=online).verify(pdf)
    assert len(report.signatures) == 1
    assert Verdict.of(report.signatures[0]) == expected
    assert not report.all_passed


async def test_pdfsig_sees_digest_mismatch_after_byte_change(pki: PkiServices, tmp_path: Path) -> None:
    path = tmp_path / "tampered.pdf"
    path.write_bytes(await _byte_changed(pki))
    assert "Digest Mismatch." in pdfsig(path, pki.nssdb)


MALFORMED = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\ntrailer <<>>\n%%EOF"


def _truncated() -> bytes:
    data = MINIMAL_PDF.read_bytes()
    return data[: len(data) // 2]


BAD_INPUTS: dict[str, tuple[Callable[[], bytes], str]] = {
    "not-a-pdf": (lambda: b"GIF89a this is not a document", "no %PDF header"),
    "empty": (lambda: b"", "no %PDF header"),
    "malformed": (lambda: MALFORMED, "not a readable PDF"),
    "truncated": (_truncated, "not a readable PDF"),
    "decompression-bomb": ((MINIMAL_PDF.parent / "bomb.pdf").read_bytes, "not a readable PDF"),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("make", "detail"), BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
async def test_unreadable_input_is_invalid_pdf(make: Callable[[], bytes], detail: str, pki: PkiServices) -> None:
    with pytest.raises(InvalidPdf, match=detail):
        await PdfVerifier([pki.root_cert]).verify(make())


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("make", "detail"), BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
async def test_unreadable_input_is_refused_for_signing(
    make: Callable[[], bytes], detail: str, pki: PkiServices
) -> None:
    service = PdfSigningService(pki.signer("citizen"), tsa_url=None, trust_roots=[pki.root_cert])
    try:
        with pytest.raises(InvalidPdf, match=detail):
            await service.sign(make(), SignRequest())
    finally:
        await service.aclose()


async def test_oversized_input_is_invalid_pdf(pki: PkiServices) -> None:
    with pytest.raises(InvalidPdf, match="larger than 100 bytes"):
        await PdfVerifier([pki.root_cert], max_pdf_bytes=100).verify(MINIMAL_PDF.read_bytes())


async def test_unsigned_pdf_gives_empty_report(pki: PkiServices) -> None:
    report = await PdfVerifier([pki.root_cert]).verify(MINIMAL_PDF.read_bytes())
    assert report.signatures == ()
    assert not report.all_passed
    assert report.to_dict() == {
        "signatures": [],
        "notes": [],
        "all_passed": False,
        "verdict": "indeterminate",
        "verdict_reason": "the document has no signatures",
    }


def _garble_contents(signed: bytes) -> bytes:
    match = re.search(rb"/Contents <([0-9a-fA-F]+)>", signed)
    assert match is not None
    return signed[: match.start(1)] + b"3082" + b"0" * (len(match.group(1)) - 4) + signed[match.end(1) :]


def _unknown_subfilter(signed: bytes) -> bytes:
    return signed.replace(b"/ETSI.CAdES.detached", b"/adbe.x509.rsa_sha1 ", 1)  # same length: offsets hold


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (_garble_contents, "the signature cannot be read (malformed)"),
        (_unknown_subfilter, "unsupported signature format /adbe.x509.rsa_sha1"),
    ],
    ids=["garbled-cms", "unknown-subfilter"],
)
async def test_unreadable_signature_is_reported_not_raised(
    damage: Callable[[bytes], bytes], problem: str, pki: PkiServices
) -> None:
    signed = await _sign(pki, "citizen")
    report = await PdfVerifier([pki.root_cert]).verify(damage(signed))
    assert [(s.field.startswith("Signature-"), s.bottom_line, s.summary, s.problems) for s in report.signatures] == [
        (True, False, "INVALID", (problem,))
    ]


@pytest.mark.parametrize("keep", [0.98, 0.5])
async def test_truncated_signed_document_is_invalid_pdf(keep: float, pki: PkiServices) -> None:
    signed = await _sign(pki, "citizen")
    with pytest.raises(InvalidPdf, match="not a readable PDF"):
        await PdfVerifier([pki.root_cert]).verify(signed[: int(len(signed) * keep)])
