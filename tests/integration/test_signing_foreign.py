"""Documents signed by another tool (poppler's pdfsig, NSS keys) verify in our report."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import load_pem_x509_certificate

from signing import PdfVerifier
from tests.services.pki import MINIMAL_PDF, PkiServices

pytestmark = pytest.mark.pki


def _run(argv: list[str]) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, f"{argv[0]}: {result.stdout}{result.stderr}"
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def signer_nssdb(pki: PkiServices, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An NSS database holding the citizen's key and certificate (nickname "citizen"), imported via pk12util."""
    directory = tmp_path_factory.mktemp("nss-signer")
    key = serialization.load_pem_private_key(pki.key_path("citizen").read_bytes(), None)
    cert = load_pem_x509_certificate(pki.cert_path("citizen").read_bytes())
    interm = load_pem_x509_certificate(pki.cert_path("interm").read_bytes())
    p12 = directory / "citizen.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        b"citizen", key, cert, [interm], serialization.BestAvailableEncryption(b"test")  # type: ignore[arg-type]
    ))
    _run(["certutil", "-N", "-d", f"sql:{directory}", "--empty-password"])
    _run(["pk12util", "-i", str(p12), "-d", f"sql:{directory}", "-W", "test", "-K", ""])
    return directory


async def test_pdf_signed_by_pdfsig_verifies(signer_nssdb: Path, pki: PkiServices, tmp_path: Path) -> None:
    # poppler 22.12 signs only adbe.pkcs7.detached here ("-etsi is not supported yet with -add-signature").
    out = tmp_path / "poppler-signed.pdf"
    argv = ["pdfsig", "-nssdir", f"sql:{signer_nssdb}", "-add-signature", "-nick", "citizen",
            "-new-signature-field-name", "Poppler", "-reason", "foreign tool"]
    _run([*argv, str(MINIMAL_PDF), str(out)])

    report = await PdfVerifier([pki.root_cert]).verify(out.read_bytes())

    assert len(report.signatures) == 1
    sig = report.signatures[0]
    assert (sig.field, sig.intact, sig.valid, sig.trusted, sig.bottom_line) == ("Poppler", True, True, True, True)
    assert sig.pades_level is None  # not a PAdES signature
    assert sig.signer is not None
    assert sig.signer.subject.startswith("Common Name: Alice Citizen")
    assert report.all_passed
    assert report.notes == ("parsed leniently: the strict PDF parser refused this document",)
