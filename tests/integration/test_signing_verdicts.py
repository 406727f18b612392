"""The readable verdict at every PAdES level, online and offline, and later than the embedded OCSP `nextUpdate`;
revoked, expired and untrusted-timestamp cases; document timestamps from an untrusted TSA."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from asn1crypto import keys
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers, timestamps
from pyhanko.sign.fields import SigSeedSubFilter

from signing import PadesLevel, PdfSigningService, PdfVerifier, SignatureReport, SignRequest
from tests.services.pki import MINIMAL_PDF, PkiServices

pytestmark = pytest.mark.pki


async def _sign(pki: PkiServices, level: PadesLevel, label: str = "citizen") -> bytes:
    service = PdfSigningService(
        pki.signer(label), tsa_url=pki.tsa_url, trust_roots=[pki.root_cert], unsafe_skip_signer_check=True
    )
    try:
        return await service.sign(MINIMAL_PDF.read_bytes(), SignRequest(level=level))
    finally:
        await service.aclose()


def _rogue_timestamper(pki: PkiServices) -> timestamps.DummyTimeStamper:
    """An RFC 3161 timestamper whose certificate chains to the untrusted rogue root."""
    key = keys.PrivateKeyInfo.load(pki.arch.key_set.get_private_key("rogue").dump())
    return timestamps.DummyTimeStamper(tsa_cert=pki.cert("rogue"), tsa_key=key)


def _only(report_sigs: tuple[SignatureReport, ...], kind: str = "signature") -> SignatureReport:
    found = [s for s in report_sigs if s.kind == kind]
    assert len(found) == 1, report_sigs
    return found[0]


# level: (verdict offline, verdict online); offline, B-B and B-T carry no revocation data: nobody can tell yet.
LEVELS = {
    PadesLevel.B_B: ("indeterminate", "passed", "basic"),
    PadesLevel.B_T: ("indeterminate", "passed", "with_time"),
    PadesLevel.B_LT: ("passed", "passed", "with_time"),
    PadesLevel.B_LTA: ("passed", "passed", "long_term"),
}


@pytest.mark.parametrize("level", list(LEVELS))
async def test_own_signature_verdict_at_every_level(level: PadesLevel, pki: PkiServices) -> None:
    offline_verdict, online_verdict, process = LEVELS[level]
    signed = await _sign(pki, level)

    offline = await PdfVerifier([pki.root_cert]).verify(signed)
    online = await PdfVerifier([pki.root_cert], allow_fetching=True).verify(signed)

    off, on = _only(offline.signatures), _only(online.signatures)
    assert (off.verdict, on.verdict) == (offline_verdict, online_verdict), (off.verdict_reason, on.verdict_reason)
    assert off.revocation == ("good" if offline_verdict == "passed" else "unknown")
    assert on.revocation == "good"
    assert on.ades is not None
    assert (on.ades.indication, on.ades.process) == ("PASSED", process)
    assert on.pades_level == level.value
    assert on.bottom_line
    if offline_verdict == "indeterminate":
        assert off.verdict_reason.startswith("cannot tell yet: the revocation status")
        assert "the revocation status of the certificates is unknown" in off.problems
    assert online.verdict == online_verdict


@pytest.mark.parametrize("level", [PadesLevel.B_LT, PadesLevel.B_LTA])
@pytest.mark.parametrize("later", [timedelta(hours=1), timedelta(days=40)], ids=["1h", "40d"])
async def test_long_term_verdict_survives_the_embedded_ocsp_next_update(
    level: PadesLevel, later: timedelta, pki: PkiServices
) -> None:
    signed = await _sign(pki, level)
    verifier = PdfVerifier([pki.root_cert])  # offline: only what the document embeds

    report = await verifier.verify(signed, validation_time=datetime.now(UTC) + later)

    sig = _only(report.signatures)
    assert (sig.verdict, sig.revocation) == ("passed", "good"), (sig.verdict_reason, sig.ades)
    assert sig.ades is not None
    assert sig.ades.indication == "PASSED"
    assert sig.timestamp is not None
    if level is PadesLevel.B_LT:  # validated as of its signature timestamp, its proof of existence
        assert sig.ades.validation_time == sig.timestamp.time


@pytest.mark.parametrize("online", [False, True], ids=["embedded-nothing", "fetched"])
async def test_revoked_signer_is_never_passed(online: bool, pki: PkiServices) -> None:
    signed = await _sign(pki, PadesLevel.B_T, "revoked")
    sig = _only((await PdfVerifier([pki.root_cert], allow_fetching=online).verify(signed)).signatures)
    assert sig.verdict != "passed"
    if online:
        assert (sig.verdict, sig.revocation, sig.revoked) == ("failed", "revoked", True)
        assert "revoked" in sig.verdict_reason
    else:
        assert (sig.verdict, sig.revocation) == ("indeterminate", "unknown")


async def test_revoked_signer_with_embedded_revocation_data_is_failed(pki: PkiServices) -> None:
    # pyHanko refuses to embed validation data for a revoked signer (B-LT); embed the CRL by hand as a DSS.
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    signed = await _sign(pki, PadesLevel.B_T, "revoked")
    crl = pki.arch.service_registry.get_crl("interm")
    out = BytesIO(signed)
    DocumentSecurityStore.add_dss(out, sig_contents=None, certs=[pki.cert("interm")], crls=[crl], force_write=True)
    sig = _only((await PdfVerifier([pki.root_cert]).verify(out.getvalue())).signatures)
    assert (sig.verdict, sig.revocation) == ("failed", "revoked"), (sig.verdict_reason, sig.ades)


async def test_expired_certificate_verdict_names_the_expiry(pki: PkiServices) -> None:
    signed = await _sign(pki, PadesLevel.B_T, "expired")
    sig = _only((await PdfVerifier([pki.root_cert], allow_fetching=True).verify(signed)).signatures)
    assert sig.verdict == "failed"
    assert "expired on 2021-01-01" in sig.verdict_reason


async def test_untrusted_signature_timestamp_is_explained(pki: PkiServices) -> None:
    writer = IncrementalPdfFileWriter(BytesIO(MINIMAL_PDF.read_bytes()))
    meta = signers.PdfSignatureMetadata(field_name="Sig", subfilter=SigSeedSubFilter.PADES)
    signer = pki.signer("citizen").pyhanko_signer
    out = BytesIO()
    await signers.PdfSigner(meta, signer=signer, timestamper=_rogue_timestamper(pki)).async_sign_pdf(writer, output=out)
    sig = _only((await PdfVerifier([pki.root_cert], allow_fetching=True).verify(out.getvalue())).signatures)
    assert sig.timestamp is not None
    assert not sig.timestamp.trusted
    assert any(p.startswith("the signature timestamp is not trusted") for p in sig.problems), sig.problems
    assert sig.verdict != "passed"


async def test_document_timestamp_from_an_untrusted_tsa_fails_the_verdict(pki: PkiServices) -> None:
    signed = await _sign(pki, PadesLevel.B_T)
    out = BytesIO()
    await signers.PdfTimeStamper(_rogue_timestamper(pki)).async_timestamp_pdf(
        IncrementalPdfFileWriter(BytesIO(signed)), "sha256", output=out
    )
    report = await PdfVerifier([pki.root_cert], allow_fetching=True).verify(out.getvalue())
    doc_ts = _only(report.signatures, "document_timestamp")
    assert (doc_ts.trusted, doc_ts.verdict) == (False, "failed")
    assert doc_ts.verdict_reason == "the document timestamp's authority is not trusted"
    assert report.verdict == "failed"
    assert "document timestamp" in report.verdict_reason


async def test_document_timestamp_from_our_tsa_passes(pki: PkiServices) -> None:
    report = await PdfVerifier([pki.root_cert], allow_fetching=True).verify(await _sign(pki, PadesLevel.B_LTA))
    doc_ts = _only(report.signatures, "document_timestamp")
    assert (doc_ts.trusted, doc_ts.revocation, doc_ts.verdict) == (True, "good", "passed")
    assert report.verdict == "passed"
