"""The development PKI does what a production PKI does: B-T, B-LT and B-LTA signatures against its own TSA,
OCSP responders and CRLs served over HTTP, read as valid by our verifier and by pdfsig; revocation is seen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from signing import (
    DevPki,
    PadesLevel,
    PdfSigningService,
    PdfVerifier,
    SignerRevoked,
    SignRequest,
    VisibleStamp,
)
from tests.services.devpki_http import DevPkiServer, nss_db_trusting, served_dev_pki
from tests.services.pki import MINIMAL_PDF, pdfsig, pdfsig_valid_count, qpdf_check


@pytest.fixture(scope="module")
def server() -> Iterator[DevPkiServer]:
    srv = DevPkiServer()
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def dev_pki(server: DevPkiServer, tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return served_dev_pki(tmp_path_factory.mktemp("devpki") / "pki", server)


@pytest.fixture(scope="module")
def nssdb(dev_pki: DevPki, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return nss_db_trusting(dev_pki.root_cert_path, tmp_path_factory.mktemp("nss"))


@pytest.mark.parametrize("level", [PadesLevel.B_T, PadesLevel.B_LT, PadesLevel.B_LTA])
async def test_timestamped_levels_work_end_to_end_on_the_dev_pki(
    level: PadesLevel, dev_pki: DevPki, server: DevPkiServer, nssdb: Path, tmp_path: Path
) -> None:
    service = PdfSigningService(dev_pki.load_signer(), tsa_url=dev_pki.tsa_url, trust_roots=dev_pki.trust_roots())
    server.requests.clear()
    try:
        signed = await service.sign(MINIMAL_PDF.read_bytes(), SignRequest(level=level, stamp=VisibleStamp()))
    finally:
        await service.aclose()

    report = await PdfVerifier(dev_pki.trust_roots()).verify(signed)
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)

    sig = report.signatures[0]
    assert (sig.intact, sig.valid, sig.trusted, sig.bottom_line) == (True, True, True, True)
    assert sig.pades_level == level.value
    assert sig.timestamp is not None
    assert ("POST", "/dev-pki/tsa") in server.requests
    assert any(path.startswith("/dev-pki/ocsp/issuing") for _, path in server.requests)  # the signer check
    assert pdfsig_valid_count(path, nssdb) == 1, pdfsig(path, nssdb)
    assert qpdf_check(path).returncode == 0
    if level is PadesLevel.B_LTA:
        assert [s.kind for s in report.signatures] == ["signature", "document_timestamp"]


async def test_b_lta_verifies_offline_with_the_responders_gone(dev_pki: DevPki, server: DevPkiServer) -> None:
    service = PdfSigningService(dev_pki.load_signer(), tsa_url=dev_pki.tsa_url, trust_roots=dev_pki.trust_roots())
    try:
        signed = await service.sign(MINIMAL_PDF.read_bytes(), SignRequest(level=PadesLevel.B_LTA))
    finally:
        await service.aclose()
    responders, server.responders = server.responders, None
    try:
        report = await PdfVerifier(dev_pki.trust_roots(), allow_fetching=False).verify(signed)
    finally:
        server.responders = responders

    assert [(s.kind, s.intact, s.valid, s.trusted) for s in report.signatures] == [
        ("signature", True, True, True),
        ("document_timestamp", True, True, True),
    ]


async def test_a_revoked_agency_seal_is_refused_at_signing(dev_pki: DevPki) -> None:
    signer = dev_pki.agency_signer("Revoked Registry")
    dev_pki.revoke(_pyca(signer.certificate))
    service = PdfSigningService(signer, tsa_url=dev_pki.tsa_url, trust_roots=dev_pki.trust_roots())
    try:
        with pytest.raises(SignerRevoked):
            await service.sign(MINIMAL_PDF.read_bytes(), SignRequest(level=PadesLevel.B_B))
    finally:
        await service.aclose()


def _pyca(cert):  # asn1crypto -> cryptography
    from cryptography import x509

    return x509.load_der_x509_certificate(cert.dump())
