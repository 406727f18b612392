"""Key-file and PKCS#12 signer back ends: loading, and failing as SignerUnavailable."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import load_pem_x509_certificate

from signing import (
    DevPki,
    KeyFileSigner,
    PdfSigningService,
    PdfVerifier,
    Pkcs12Signer,
    SignerUnavailable,
    SignRequest,
    ensure_dev_pki,
)

MINIMAL_PDF = Path(__file__).resolve().parents[1] / "data" / "pdf" / "minimal.pdf"


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return ensure_dev_pki(tmp_path_factory.mktemp("dev") / "pki")


def _p12(dev: DevPki, path: Path, password: bytes) -> Path:
    key = serialization.load_pem_private_key(dev.seal_key_path.read_bytes(), None)
    cert = load_pem_x509_certificate(dev.seal_cert_path.read_bytes())
    chain = [load_pem_x509_certificate(dev.issuing_cert_path.read_bytes())]
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        b"seal", key, cert, chain, serialization.BestAvailableEncryption(password)  # type: ignore[arg-type]
    ))
    return path


async def test_pkcs12_signer_signs_with_its_chain(dev: DevPki, tmp_path: Path) -> None:
    signer = Pkcs12Signer.load(_p12(dev, tmp_path / "seal.p12", b"pw"), b"pw")
    assert len(signer.chain) == 1
    service = PdfSigningService(signer, tsa_url=None, trust_roots=dev.trust_roots())
    try:
        signed = await service.sign(MINIMAL_PDF.read_bytes(), SignRequest())
    finally:
        await service.aclose()
    assert (await PdfVerifier(dev.trust_roots()).verify(signed)).all_passed


def test_pkcs12_with_wrong_passphrase_is_unavailable(dev: DevPki, tmp_path: Path) -> None:
    with pytest.raises(SignerUnavailable):
        Pkcs12Signer.load(_p12(dev, tmp_path / "seal.p12", b"pw"), b"wrong")


@pytest.mark.parametrize("broken", ["key", "cert", "chain"])
def test_key_file_signer_with_missing_file_is_unavailable(dev: DevPki, broken: str, tmp_path: Path) -> None:
    paths = {"key": dev.seal_key_path, "cert": dev.seal_cert_path, "chain": dev.issuing_cert_path}
    paths[broken] = tmp_path / "missing.pem"
    with pytest.raises(SignerUnavailable) as caught:
        KeyFileSigner.load(paths["key"], paths["cert"], (paths["chain"],))
    assert str(tmp_path) not in caught.value.detail  # no paths leak to clients


def test_key_file_signer_accepts_der_key(dev: DevPki, tmp_path: Path) -> None:
    key = serialization.load_pem_private_key(dev.seal_key_path.read_bytes(), None)
    der = tmp_path / "seal.key.der"
    der.write_bytes(key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ))
    signer = KeyFileSigner.load(der, dev.seal_cert_path)
    assert signer.certificate.subject == dev.load_signer().certificate.subject


def test_empty_trust_roots_are_refused(dev: DevPki) -> None:
    with pytest.raises(ValueError, match="trust_roots"):
        PdfSigningService(dev.load_signer(), tsa_url=None, trust_roots=[])
    with pytest.raises(ValueError, match="trust_roots"):
        PdfVerifier([])


def test_trust_roots_accept_pem_bundles_der_and_paths(dev: DevPki, tmp_path: Path) -> None:
    root_pem, issuing_pem = dev.root_cert_path.read_bytes(), dev.issuing_cert_path.read_bytes()
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(root_pem + issuing_pem)
    root_der = dev.trust_roots()[0].dump()

    from signing._certs import to_asn1_all

    certs = to_asn1_all([bundle, root_der, root_pem])
    assert [c.subject.native["common_name"] for c in certs] == [
        "Citizen Vault Development Seal Root CA", "Citizen Vault Development Seal Issuing CA",
        "Citizen Vault Development Seal Root CA", "Citizen Vault Development Seal Root CA",
    ]
