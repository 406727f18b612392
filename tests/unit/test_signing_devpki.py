"""The embedded development PKI: created once with its CA keys kept, reused, re-issued for a new URL."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

from signing import PadesLevel, PdfSigningService, PdfVerifier, SignRequest, ensure_dev_pki

MINIMAL_PDF = Path(__file__).resolve().parents[1] / "data" / "pdf" / "minimal.pdf"
ENTITIES = ("identity-ca", "issuing-ca", "root-ca", "seal", "tsa")


def test_dev_pki_is_created_once_with_its_keys_and_reused(tmp_path: Path) -> None:
    first = ensure_dev_pki(tmp_path / "pki")
    files = {p.name: p.read_bytes() for p in first.directory.iterdir()}

    second = ensure_dev_pki(tmp_path / "pki")

    expected = sorted([f"{e}.{kind}.pem" for e in ENTITIES for kind in ("cert", "key")] + ["pki.json"])
    assert sorted(files) == expected
    assert {p.name: p.read_bytes() for p in second.directory.iterdir()} == files
    for path in second.directory.iterdir():  # keys above all, but nothing in a data directory is shared
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    assert list(tmp_path.iterdir()) == [tmp_path / "pki"]  # no temporary directories left behind


def test_certificates_point_at_the_base_url(tmp_path: Path) -> None:
    pki = ensure_dev_pki(tmp_path / "pki", base_url="http://vault.test:8000/dev-pki/")

    seal, tsa = pki.certificate("seal"), pki.certificate("tsa")
    aia = seal.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    crl = seal.extensions.get_extension_for_class(x509.CRLDistributionPoints).value

    assert pki.tsa_url == "http://vault.test:8000/dev-pki/tsa"
    assert {(d.access_method, d.access_location.value) for d in aia} == {
        (AuthorityInformationAccessOID.OCSP, "http://vault.test:8000/dev-pki/ocsp/issuing"),
        (AuthorityInformationAccessOID.CA_ISSUERS, "http://vault.test:8000/dev-pki/ca/issuing.cer"),
    }
    assert [p.full_name[0].value for p in crl] == ["http://vault.test:8000/dev-pki/crl/issuing.crl"]  # type: ignore[index]
    eku = tsa.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert (eku.critical, list(eku.value)) == (True, [ExtendedKeyUsageOID.TIME_STAMPING])


def _aia(cert: x509.Certificate) -> set[tuple[x509.ObjectIdentifier, str]]:
    aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    return {(d.access_method, str(d.access_location.value)) for d in aia}


def test_the_root_names_only_its_crl_in_the_cas_it_issues(tmp_path: Path) -> None:
    # pyHanko's long-term (past) validation cannot use an OCSP response signed by the trust anchor itself: a
    # B-LTA signature under such a CA came out INDETERMINATE/NO_POE. A root publishes a CRL, as offline roots do.
    pki = ensure_dev_pki(tmp_path / "pki", base_url="http://vault.test/dev-pki")
    for ca in ("issuing", "identity"):
        cert = pki.certificate(ca)
        assert _aia(cert) == {(AuthorityInformationAccessOID.CA_ISSUERS, "http://vault.test/dev-pki/ca/root.cer")}
        crl = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        assert [p.full_name[0].value for p in crl] == ["http://vault.test/dev-pki/crl/root.crl"]  # type: ignore[index]
    assert pki.urls("identity").ocsp == "http://vault.test/dev-pki/ocsp/identity"  # the CAs below still answer OCSP
    assert pki.urls("root").ocsp is None


def test_a_pki_issued_under_an_older_layout_is_reissued_for_the_same_keys(tmp_path: Path) -> None:
    pki = ensure_dev_pki(tmp_path / "pki", base_url="http://vault.test/dev-pki")
    identity = pki.certificate("identity")
    (pki.directory / "pki.json").write_text('{"version": 2, "base_url": "http://vault.test/dev-pki"}')

    again = ensure_dev_pki(tmp_path / "pki")  # the same URL: only the layout changed

    assert again.version == 3
    assert again.base_url == "http://vault.test/dev-pki"
    reissued = again.certificate("identity")
    assert reissued.public_key() == identity.public_key()
    assert reissued.serial_number != identity.serial_number


async def test_a_new_base_url_reissues_for_the_same_keys_and_old_signatures_stay_valid(tmp_path: Path) -> None:
    pki = ensure_dev_pki(tmp_path / "pki", base_url="http://127.0.0.1:1111/dev-pki")
    agency_before = pki.agency_signer("Tax Office").certificate
    service = PdfSigningService(pki.load_signer(), tsa_url=None, trust_roots=pki.trust_roots(), allow_fetching=False)
    try:
        signed = await service.sign(MINIMAL_PDF.read_bytes(), SignRequest(level=PadesLevel.B_B))
    finally:
        await service.aclose()
    old_seal, root = pki.certificate("seal"), pki.root_cert_path.read_bytes()

    moved = ensure_dev_pki(tmp_path / "pki", base_url="http://127.0.0.1:2222/dev-pki")

    new_seal = moved.certificate("seal")
    assert moved.base_url == "http://127.0.0.1:2222/dev-pki"
    assert new_seal.public_key() == old_seal.public_key()
    assert new_seal.serial_number != old_seal.serial_number
    assert "2222" in str(new_seal.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value)
    assert moved.root_cert_path.read_bytes() == root
    agency_after = moved.agency_signer("Tax Office").certificate
    assert agency_after.public_key.dump() == agency_before.public_key.dump()
    assert agency_after.serial_number != agency_before.serial_number
    report = await PdfVerifier(moved.trust_roots()).verify(signed)
    assert [(s.intact, s.valid, s.trusted) for s in report.signatures] == [(True, True, True)]


def test_a_pki_without_ca_keys_is_moved_aside(tmp_path: Path) -> None:
    old = tmp_path / "pki"
    old.mkdir()
    for name in ("issuing-ca.cert.pem", "root-ca.cert.pem", "seal.cert.pem", "seal.key.pem"):
        (old / name).write_text("from the first version")

    pki = ensure_dev_pki(old)

    assert (pki.directory / "root-ca.key.pem").exists()
    legacy = [p for p in tmp_path.iterdir() if p.name.startswith("pki.legacy-")]
    assert len(legacy) == 1
    assert (legacy[0] / "seal.cert.pem").read_text() == "from the first version"


def test_dev_pki_replaces_an_empty_placeholder_directory(tmp_path: Path) -> None:
    (tmp_path / "pki").mkdir()
    pki = ensure_dev_pki(tmp_path / "pki", common_name="Test Seal")
    assert pki.load_signer().certificate.subject.native["common_name"] == "Test Seal"


def test_each_agency_has_its_own_key_and_certificate(tmp_path: Path) -> None:
    pki = ensure_dev_pki(tmp_path / "pki")

    tax, health = pki.agency_signer("Tax Office"), pki.agency_signer("Health Agency")

    assert tax.certificate.subject.native["common_name"] == "Tax Office"
    assert tax.certificate.public_key.dump() != health.certificate.public_key.dump()
    assert pki.agency_signer("Tax Office").certificate.dump() == tax.certificate.dump()  # reused, not re-issued
    key_path, _ = pki.agency_paths("Tax Office")
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


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
    service = PdfSigningService(ours.load_signer(), tsa_url=None, trust_roots=ours.trust_roots(), allow_fetching=False)
    try:
        signed = await service.sign(MINIMAL_PDF.read_bytes(), SignRequest())
    finally:
        await service.aclose()

    report = await PdfVerifier(theirs.trust_roots()).verify(signed)

    assert [(s.intact, s.trusted, s.bottom_line) for s in report.signatures] == [(True, False, False)]


def test_an_agency_key_left_without_its_certificate_gets_one(tmp_path: Path) -> None:
    pki = ensure_dev_pki(tmp_path / "pki")
    first = pki.agency_signer("Tax Office")
    _, cert_path = pki.agency_paths("Tax Office")
    cert_path.unlink()  # as if the first start stopped between writing the key and the certificate

    again = pki.agency_signer("Tax Office")

    assert again.certificate.public_key.dump() == first.certificate.public_key.dump()
