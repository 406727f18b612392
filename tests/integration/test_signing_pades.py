"""Signing at every PAdES level against the certomancer PKI, checked by our verifier, pdfsig and qpdf."""

from __future__ import annotations

from pathlib import Path

import pytest

from signing import KeyFileSigner, PadesLevel, PdfSigningService, PdfVerifier, SignRequest, VisibleStamp
from tests.services.pki import PkiServices, pdfsig, pdfsig_valid_count, qpdf_check

pytestmark = pytest.mark.pki

MINIMAL = Path(__file__).resolve().parents[1] / "data" / "pdf" / "minimal.pdf"


@pytest.fixture(scope="module")
def citizen(pki: PkiServices) -> KeyFileSigner:
    return KeyFileSigner.load(pki.key_path("citizen"), pki.cert_path("citizen"), pki.chain_paths("citizen"))


@pytest.fixture
async def service(pki: PkiServices, citizen: KeyFileSigner):
    svc = PdfSigningService(citizen, tsa_url=pki.tsa_url, trust_roots=[pki.root_cert])
    yield svc
    await svc.aclose()


@pytest.mark.parametrize("level", list(PadesLevel))
async def test_signed_document_verifies_everywhere(
    level: PadesLevel, service: PdfSigningService, pki: PkiServices, tmp_path: Path
) -> None:
    signed = await service.sign(MINIMAL.read_bytes(), SignRequest(level=level, reason="test", stamp=VisibleStamp()))
    report = await PdfVerifier([pki.root_cert]).verify(signed)
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)

    sig = report.signatures[0]
    assert sig.kind == "signature"
    assert (sig.intact, sig.valid, sig.trusted, sig.revoked) == (True, True, True, False)
    assert sig.bottom_line
    assert report.all_passed
    assert sig.pades_level == level.value
    assert (sig.timestamp is not None) == level.needs_timestamp
    assert pdfsig_valid_count(path, pki.nssdb) == 1, pdfsig(path, pki.nssdb)
    assert qpdf_check(path).returncode == 0
