"""The embedded development PKI: created once, reused, and its seal produces trusted signatures."""

from __future__ import annotations

import stat
from pathlib import Path

from signing import PadesLevel, PdfSigningService, PdfVerifier, SignRequest, ensure_dev_pki

MINIMAL_PDF = Path(__file__).resolve().parents[1] / "data" / "pdf" / "minimal.pdf"


def test_dev_pki_is_created_once_and_reused(tmp_path: Path) -> None:
    first = ensure_dev_pki(tmp_path / "pki")
    files = {p.name: p.read_bytes() for p in first.directory.iterdir()}

    second = ensure_dev_pki(tmp_path / "pki")

    assert sorted(files) == ["issuing-ca.cert.pem", "root-ca.cert.pem", "seal.cert.pem", "seal.key.pem"]
    assert {p.name: p.read_bytes() for p in second.directory.iterdir()} == files
    assert stat.S_IMODE(second.seal_key_path.stat().st_mode) == 0o600
    assert list(tmp_path.iterdir()) == [tmp_path / "pki"]  # no temporary directories left behind


def test_dev_pki_replaces_an_empty_placeholder_directory(tmp_path: Path) -> None:
    (tmp_path / "pki").mkdir()
    pki = ensure_dev_pki(tmp_path / "pki", common_name="Test Seal")
    assert pki.load_signer().certificate.subject.native["common_name"] == "Test Seal"


async def test_dev_seal_signs_a_document_that_verifies_as_trusted(tmp_path: Path) -> None:
    pki = ensure_dev_pki(tmp_path / "pki")
    service = PdfSigningService(pki.load_signer(), tsa_url=None, trust_roots=pki.trust_roots(), allow_fetching=False)
    try:
        signed = await service.sign(MINIMAL_PDF.read_bytes(), SignRequest(level=PadesLevel.B_B, reason="sealed"))
    finally:
        await service.aclose()

    report = await PdfVerifier(pki.trust_roots()).verify(signed)

    assert [(s.intact, s.valid, s.trusted, s.bottom_line, s.pades_level) for s in report.signatures] == [
        (True, True, True, True, "B-B")
    ]


async def test_dev_seal_is_untrusted_under_another_dev_root(tmp_path: Path) -> None:
    ours, theirs = ensure_dev_pki(tmp_path / "a"), ensure_dev_pki(tmp_path / "b")
    service = PdfSigningService(ours.load_signer(), tsa_url=None, trust_roots=ours.trust_roots())
    try:
        signed = await service.sign(MINIMAL_PDF.read_bytes(), SignRequest())
    finally:
        await service.aclose()

    report = await PdfVerifier(theirs.trust_roots()).verify(signed)

    assert [(s.intact, s.trusted, s.bottom_line) for s in report.signatures] == [(True, False, False)]
