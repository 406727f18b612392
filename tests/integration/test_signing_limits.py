"""Limits on what one verification may cost (issue 9 item 1): a cap on signatures, a time budget, one log line
per failing signature, and verification in the bounded worker pool with the real verifier."""

from __future__ import annotations

import logging
import re

import pytest

from signing import (
    PadesLevel,
    PdfSigningService,
    PdfVerifier,
    SignRequest,
    TooManySignatures,
    VerificationPool,
    VerificationTimeout,
)
from signing._verify import DEFAULT_MAX_SIGNATURES
from tests.services.pki import MINIMAL_PDF, PkiServices
from tests.support.pdfs import with_signature_copies

pytestmark = pytest.mark.pki


async def _signed(pki: PkiServices, level: PadesLevel = PadesLevel.B_B) -> bytes:
    service = PdfSigningService(pki.signer("citizen"), tsa_url=pki.tsa_url, trust_roots=[pki.root_cert])
    try:
        return await service.sign(MINIMAL_PDF.read_bytes(), SignRequest(level=level))
    finally:
        await service.aclose()


async def test_too_many_signatures_is_refused_before_validation(pki: PkiServices) -> None:
    pdf = with_signature_copies(await _signed(pki), DEFAULT_MAX_SIGNATURES)  # one more than the default cap
    with pytest.raises(TooManySignatures, match=f"has {DEFAULT_MAX_SIGNATURES + 1} signatures; at most 20"):
        await PdfVerifier([pki.root_cert]).verify(pdf)
    with pytest.raises(TooManySignatures):
        await PdfVerifier([pki.root_cert]).etsi_report_xml(pdf)


async def test_signature_cap_is_a_setting(pki: PkiServices) -> None:
    pdf = with_signature_copies(await _signed(pki), 2)
    with pytest.raises(TooManySignatures, match="at most 2"):
        await PdfVerifier([pki.root_cert], max_signatures=2).verify(pdf)
    report = await PdfVerifier([pki.root_cert], max_signatures=3).verify(pdf)
    assert len(report.signatures) == 3


async def test_verification_over_its_time_budget_is_stopped(pki: PkiServices) -> None:
    pdf = with_signature_copies(await _signed(pki, PadesLevel.B_LT), 15)
    with pytest.raises(VerificationTimeout):
        await PdfVerifier([pki.root_cert], time_budget=0.001).verify(pdf)


async def test_one_log_line_per_failing_signature(pki: PkiServices, caplog: pytest.LogCaptureFixture) -> None:
    signed = await _signed(pki)
    match = re.search(rb"/Contents <([0-9a-fA-F]+)>", signed)
    assert match is not None
    # A CMS blob that parses but whose signer info is unusable: validation of that signature raises.
    garbled = signed[: match.start(1)] + b"3082" + b"0" * (len(match.group(1)) - 4) + signed[match.end(1) :]
    with caplog.at_level(logging.INFO, logger="signing"):
        report = await PdfVerifier([pki.root_cert]).verify(garbled)
    assert [s.verdict for s in report.signatures] == ["failed"]
    records = [r for r in caplog.records if r.name.startswith("signing")]
    assert len(records) == 1, [r.getMessage() for r in records]
    assert records[0].exc_info is None
    assert "\n" not in records[0].getMessage()


async def test_pool_gives_the_in_process_verdict(pki: PkiServices) -> None:
    signed = await _signed(pki, PadesLevel.B_LTA)
    verifier = PdfVerifier([pki.root_cert], allow_fetching=True)
    pool = VerificationPool(verifier, workers=1, queue_size=1)
    try:
        pooled = await pool.verify(signed)
        xml = await pool.etsi_report_xml(signed)
        with pytest.raises(TooManySignatures):
            await pool.verify(with_signature_copies(signed, 20))
    finally:
        await pool.aclose()
    direct = await verifier.verify(signed)
    assert [(s.field, s.verdict, s.revocation) for s in pooled.signatures] == [
        (s.field, s.verdict, s.revocation) for s in direct.signatures
    ]
    assert pooled.verdict == "passed"
    assert len(xml) == 1
    assert "urn:etsi:019102:mainindication:total-passed" in xml[0]
