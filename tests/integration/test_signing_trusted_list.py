"""EU trusted lists (ETSI TS 119 612), generated here: a signature under a listed qualified CA is reported
qualified and its timestamp QTST-qualified; an unlisted CA, a withdrawn service and an unusable list are not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from signing import (
    PadesLevel,
    PdfSigningService,
    PdfVerifier,
    SignatureReport,
    SignRequest,
    TrustedList,
    TrustedListError,
    VerificationPool,
)
from tests.services.pki import MINIMAL_PDF, PkiServices
from tests.support.trusted_list import CA_QC, QTST, ListOperator, Service, trusted_list_xml, unsigned

pytestmark = pytest.mark.pki

QC_QUALIFIERS = ("QCStatement", "QCForESig", "QCWithQSCD")


def _services(pki: PkiServices, *, ca: dict[str, object] | None = None) -> list[Service]:
    ca_service = Service(
        "Test Qualified CA", CA_QC, pki.cert("interm"), qualifiers=QC_QUALIFIERS, for_signatures=True, **(ca or {})
    )
    return [ca_service, Service("Test Qualified Timestamps", QTST, pki.cert("tsa"))]


async def _sign(pki: PkiServices, label: str = "citizen", level: PadesLevel = PadesLevel.B_T) -> bytes:
    service = PdfSigningService(
        pki.signer(label), tsa_url=pki.tsa_url, trust_roots=[pki.root_cert], unsafe_skip_signer_check=True
    )
    try:
        return await service.sign(MINIMAL_PDF.read_bytes(), SignRequest(level=level))
    finally:
        await service.aclose()


def _signature(report_sigs: tuple[SignatureReport, ...]) -> SignatureReport:
    found = [s for s in report_sigs if s.kind == "signature"]
    assert len(found) == 1, report_sigs
    return found[0]


@pytest.fixture(scope="module")
def operator() -> ListOperator:
    return ListOperator.generate()


async def test_signer_under_listed_qc_service_is_qualified_and_its_timestamp_qtst(
    pki: PkiServices, operator: ListOperator
) -> None:
    tl = TrustedList(operator.sign(trusted_list_xml(_services(pki))), signers=[operator.cert_pem])
    assert tl.signature_checked

    sig = _signature((await PdfVerifier([pki.root_cert], trusted_list=tl).verify(await _sign(pki))).signatures)

    assert sig.qualification is not None
    assert sig.timestamp is not None
    assert sig.qualification.status == "qualified", sig.qualification
    assert sig.qualification.service == "Test Qualified CA"
    assert sig.qualification.service_type == "CA/QC"
    assert (sig.qualification.certificate_type, sig.qualification.qscd) == ("qc-esig", "qscd")
    assert sig.qualification.assessed_at == sig.timestamp.time  # the proven signing time
    assert sig.qualification.list_signature_checked
    ts_q = sig.timestamp.qualification
    assert ts_q is not None
    assert ts_q.status == "qualified", ts_q
    assert (ts_q.service, ts_q.service_type) == ("Test Qualified Timestamps", "TSA/QTST")
    assert sig.verdict in {"passed", "indeterminate"}  # B-T offline: revocation unknown, qualification apart
    assert sig.to_dict()["qualification"]["source"].startswith("EU trusted list")


async def test_b_lta_passes_with_qualified_signer_and_qualified_document_timestamp(
    pki: PkiServices, operator: ListOperator
) -> None:
    tl = TrustedList(operator.sign(trusted_list_xml(_services(pki))), signers=[operator.cert_pem])

    report = await PdfVerifier([pki.root_cert], trusted_list=tl).verify(await _sign(pki, level=PadesLevel.B_LTA))

    assert report.verdict == "passed", report.verdict_reason
    sig = _signature(report.signatures)
    assert sig.ades is not None
    assert sig.ades.indication == "PASSED"
    assert sig.qualification is not None
    assert sig.qualification.status == "qualified"
    doc_ts = [s for s in report.signatures if s.kind == "document_timestamp"]
    assert doc_ts
    assert all(s.qualification is not None and s.qualification.status == "qualified" for s in doc_ts)
    assert all(s.qualification is not None and s.qualification.service_type == "TSA/QTST" for s in doc_ts)


async def test_verification_workers_carry_the_trusted_list(pki: PkiServices, operator: ListOperator) -> None:
    tl = TrustedList(operator.sign(trusted_list_xml(_services(pki))), signers=[operator.cert_pem])
    pool = VerificationPool(PdfVerifier([pki.root_cert], trusted_list=tl), workers=1, queue_size=1)
    try:
        sig = _signature((await pool.verify(await _sign(pki))).signatures)
    finally:
        await pool.aclose()

    assert sig.qualification is not None
    assert sig.qualification.status == "qualified"
    assert sig.qualification.list_signature_checked  # the worker checked the list's signature again


async def test_listed_services_are_trust_anchors_besides_the_configured_roots(
    pki: PkiServices, operator: ListOperator
) -> None:
    tl = TrustedList(operator.sign(trusted_list_xml(_services(pki))), signers=[operator.cert_pem])
    signed = await _sign(pki)

    without = _signature((await PdfVerifier([pki.cert("rogue-root")]).verify(signed)).signatures)
    with_list = _signature((await PdfVerifier([pki.cert("rogue-root")], trusted_list=tl).verify(signed)).signatures)

    assert not without.trusted
    assert with_list.trusted
    assert with_list.timestamp is not None
    assert with_list.timestamp.trusted
    assert with_list.qualification is not None
    assert with_list.qualification.status == "qualified"


async def test_signer_under_unlisted_ca_is_not_qualified(pki: PkiServices, operator: ListOperator) -> None:
    tl = TrustedList(operator.sign(trusted_list_xml(_services(pki))), signers=[operator.cert_pem])

    sig = _signature((await PdfVerifier([pki.root_cert], trusted_list=tl).verify(await _sign(pki, "rogue"))).signatures)

    assert not sig.trusted
    assert sig.qualification is not None
    assert sig.qualification.status == "not-qualified"
    assert sig.qualification.service is None
    assert "does not chain" in sig.qualification.reason
    assert sig.timestamp is not None
    assert sig.timestamp.qualification is not None
    assert sig.timestamp.qualification.status == "qualified"  # the timestamp itself still comes from the QTST


async def test_ca_listed_only_as_not_qualified_service_type_gives_not_qualified(
    pki: PkiServices, operator: ListOperator
) -> None:
    # the TSA is listed, the issuing CA is not: the signer chains to the configured root only
    tl = TrustedList(operator.sign(trusted_list_xml(_services(pki)[1:])), signers=[operator.cert_pem])

    sig = _signature((await PdfVerifier([pki.root_cert], trusted_list=tl).verify(await _sign(pki))).signatures)

    assert sig.trusted
    assert sig.qualification is not None
    assert sig.qualification.status == "not-qualified"
    assert "no qualified CA service on the trusted list covers it" in sig.qualification.reason


@pytest.mark.parametrize(("withdrawn_hours_from_now", "expected"), [(-1, "not-qualified"), (24, "qualified")])
async def test_withdrawn_service_is_not_qualified_after_withdrawal(
    pki: PkiServices, operator: ListOperator, withdrawn_hours_from_now: int, expected: str
) -> None:
    withdrawn_at = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=withdrawn_hours_from_now)
    granted = datetime(2020, 1, 1, tzinfo=UTC)
    services = _services(pki, ca={"status": "withdrawn", "since": withdrawn_at, "history": (("granted", granted),)})
    tl = TrustedList(operator.sign(trusted_list_xml(services)), signers=[operator.cert_pem])

    sig = _signature((await PdfVerifier([pki.root_cert], trusted_list=tl).verify(await _sign(pki))).signatures)

    assert sig.qualification is not None
    assert sig.qualification.status == expected, sig.qualification
    if expected == "not-qualified":
        assert "was not granted at that time" in sig.qualification.reason


async def test_an_out_of_date_list_confirms_nothing(pki: PkiServices, operator: ListOperator) -> None:
    due = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    tl = TrustedList(operator.sign(trusted_list_xml(_services(pki), next_update=due)), signers=[operator.cert_pem])

    sig = _signature((await PdfVerifier([pki.root_cert], trusted_list=tl).verify(await _sign(pki))).signatures)

    assert tl.next_update == due
    assert sig.qualification is not None
    assert sig.qualification.status == "unknown"
    assert sig.qualification.list_next_update == due
    assert sig.qualification.reason.startswith("the trusted list is out of date")
    assert "a qualified CA on the trusted list" in sig.qualification.reason  # what the stale list said
    assert sig.timestamp is not None
    assert sig.timestamp.qualification is not None
    assert sig.timestamp.qualification.status == "unknown"


async def test_unsigned_list_is_read_when_no_signer_is_configured(pki: PkiServices) -> None:
    tl = TrustedList(unsigned(trusted_list_xml(_services(pki))))

    sig = _signature((await PdfVerifier([pki.root_cert], trusted_list=tl).verify(await _sign(pki))).signatures)

    assert not tl.signature_checked
    assert sig.qualification is not None
    assert sig.qualification.status == "qualified"
    assert not sig.qualification.list_signature_checked


def test_list_signature_is_checked_against_the_configured_signer(pki: PkiServices, operator: ListOperator) -> None:
    signed = operator.sign(trusted_list_xml(_services(pki)))
    with pytest.raises(TrustedListError, match="signature"):
        TrustedList(signed, signers=[ListOperator.generate("Someone Else").cert_pem])
    with pytest.raises(TrustedListError, match="signature"):
        TrustedList(signed.replace(b"Test Qualified CA", b"Forged Qualified CA"), signers=[operator.cert_pem])
    with pytest.raises(TrustedListError, match="signature"):
        TrustedList(unsigned(trusted_list_xml(_services(pki))), signers=[operator.cert_pem])


@pytest.mark.parametrize(
    "content",
    [b"", b"not xml at all", b"<html><body>a web page</body></html>", b"<TrustServiceStatusList/>"],
    ids=["empty", "text", "html", "no-services"],
)
def test_unusable_list_is_a_clear_error(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "tl.xml"
    path.write_bytes(content)
    with pytest.raises(TrustedListError) as info:
        TrustedList.load(path)
    assert "trusted list" in info.value.detail


def test_missing_list_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TrustedListError, match="cannot read"):
        TrustedList.load(tmp_path / "absent.xml")
