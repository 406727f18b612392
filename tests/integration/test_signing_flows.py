"""Signing flows: two parties on one document, long-term validation offline, failures at signing time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from signing import (
    CertificateProblem,
    PadesLevel,
    PdfSigningService,
    PdfVerifier,
    SignatureFieldError,
    SignerRevoked,
    SignerUnavailable,
    SignRequest,
    TimestampUnavailable,
    VisibleStamp,
)
from tests.services._proc import free_port
from tests.services.pki import MINIMAL_PDF, PkiServices, pdfsig, pdfsig_valid_count, qpdf_check

pytestmark = pytest.mark.pki


def _service(pki: PkiServices, label: str, **kwargs: object) -> PdfSigningService:
    options: dict = {"tsa_url": pki.tsa_url, "trust_roots": [pki.root_cert], **kwargs}
    return PdfSigningService(pki.signer(label), **options)


async def test_agency_certifies_then_citizen_signs_and_both_stay_valid(pki: PkiServices, tmp_path: Path) -> None:
    agency, citizen = _service(pki, "agency"), _service(pki, "citizen")
    try:
        certified = await agency.sign(
            MINIMAL_PDF.read_bytes(),
            SignRequest(level=PadesLevel.B_T, field_name="agency", certify=True, new_fields=("citizen",),
                        reason="Issued by the agency", stamp=VisibleStamp(box=(50, 50, 250, 110))),
        )
        both = await citizen.sign(
            certified,
            SignRequest(level=PadesLevel.B_T, field_name="citizen", existing_field_only=True, reason="Accepted"),
        )
    finally:
        await agency.aclose()
        await citizen.aclose()

    report = await PdfVerifier([pki.root_cert]).verify(both)
    verdicts = [(s.field, s.bottom_line, s.docmdp_ok, s.modifications) for s in report.signatures]
    assert verdicts == [("agency", True, True, "FORM_FILLING"), ("citizen", True, True, "NONE")]
    assert "Agency" in report.signatures[0].signer.subject  # type: ignore[union-attr]
    path = tmp_path / "two-party.pdf"
    path.write_bytes(both)
    assert pdfsig_valid_count(path, pki.nssdb) == 2, pdfsig(path, pki.nssdb)
    assert qpdf_check(path).returncode == 0


async def test_later_signer_cannot_sign_a_field_that_does_not_exist(pki: PkiServices) -> None:
    citizen = _service(pki, "citizen")
    try:
        with pytest.raises(SignatureFieldError):
            await citizen.sign(MINIMAL_PDF.read_bytes(), SignRequest(field_name="nope", existing_field_only=True))
    finally:
        await citizen.aclose()


async def test_new_field_that_already_exists_is_refused(pki: PkiServices) -> None:
    citizen = _service(pki, "citizen")
    try:
        first = await citizen.sign(MINIMAL_PDF.read_bytes(), SignRequest(field_name="one", new_fields=("two",)))
        with pytest.raises(SignatureFieldError, match="'two'"):
            await citizen.sign(first, SignRequest(field_name="three", new_fields=("two",)))
    finally:
        await citizen.aclose()


async def test_b_lta_verifies_with_every_service_stopped(pki: PkiServices) -> None:
    service = _service(pki, "citizen")
    try:
        signed = await service.sign(MINIMAL_PDF.read_bytes(), SignRequest(level=PadesLevel.B_LTA))
    finally:
        await service.aclose()

    verifier = PdfVerifier([pki.root_cert], allow_fetching=False)
    with pki.offline():
        report = await verifier.verify(signed)
        etsi_xml = await verifier.etsi_report_xml(signed)

    assert [s.kind for s in report.signatures] == ["signature", "document_timestamp"]
    assert report.all_passed
    sig = report.signatures[0]
    assert sig.pades_level == "B-LTA"
    assert sig.ades is not None
    assert (sig.ades.indication, sig.ades.subindication) == ("PASSED", None)
    assert len(etsi_xml) == 1
    assert "urn:etsi:019102:mainindication:total-passed" in etsi_xml[0]


def _dead_tsa(pki: PkiServices) -> str:
    return f"http://127.0.0.1:{free_port()}/tsa"


def _wrong_endpoint(pki: PkiServices) -> str:
    return f"{pki.url}/vault/crls/root/latest.crl"  # answers, but not with a timestamp


@pytest.mark.parametrize("tsa", [_dead_tsa, _wrong_endpoint], ids=["tsa-down", "tsa-bad-answer"])
@pytest.mark.parametrize("level", [PadesLevel.B_T, PadesLevel.B_LTA])
async def test_tsa_failure_refuses_to_sign(
    tsa: Callable[[PkiServices], str], level: PadesLevel, pki: PkiServices
) -> None:
    service = _service(pki, "citizen", tsa_url=tsa(pki))
    try:
        with pytest.raises(TimestampUnavailable):
            await service.sign(MINIMAL_PDF.read_bytes(), SignRequest(level=level))
    finally:
        await service.aclose()


async def test_timestamped_level_without_tsa_is_refused(pki: PkiServices) -> None:
    service = _service(pki, "citizen", tsa_url=None)
    with pytest.raises(TimestampUnavailable, match="none is configured"):
        await service.sign(MINIMAL_PDF.read_bytes(), SignRequest(level=PadesLevel.B_T))


@pytest.mark.parametrize(
    ("label", "level", "skip_check", "error"),
    [
        ("revoked", PadesLevel.B_B, False, SignerRevoked),
        # pyHanko's own check while gathering B-LT material, with ours skipped:
        ("revoked", PadesLevel.B_LT, True, SignerRevoked),
        ("expired", PadesLevel.B_B, False, CertificateProblem),
        ("rogue", PadesLevel.B_B, False, CertificateProblem),
    ],
    ids=["revoked", "revoked-caught-by-lt-gathering", "expired", "untrusted"],
)
async def test_unacceptable_signer_is_refused(
    label: str, level: PadesLevel, skip_check: bool, error: type[Exception], pki: PkiServices
) -> None:
    service = _service(pki, label, unsafe_skip_signer_check=skip_check)
    try:
        with pytest.raises(error):
            await service.sign(MINIMAL_PDF.read_bytes(), SignRequest(level=level))
    finally:
        await service.aclose()


async def test_unknown_revocation_status_refuses_to_sign(pki: PkiServices) -> None:
    service = _service(pki, "citizen")
    try:
        with pki.offline(), pytest.raises(SignerUnavailable, match="revocation status"):
            await service.sign(MINIMAL_PDF.read_bytes(), SignRequest())
    finally:
        await service.aclose()


async def test_stamp_on_a_missing_page_is_refused(pki: PkiServices) -> None:
    service = _service(pki, "citizen")
    try:
        with pytest.raises(SignatureFieldError, match="no page 5"):
            await service.sign(MINIMAL_PDF.read_bytes(), SignRequest(stamp=VisibleStamp(page=5)))
    finally:
        await service.aclose()
