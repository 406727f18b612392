"""Signatures that made the ETSI report fail (issue 11): equivalents of pyHanko's corpus files
``ed448-shake256-nolen.pdf``, ``pdf-sig-with-econtent.pdf`` and ``sig-no-signed-attrs.pdf``, made here. The XML
report and the verdict are produced for each, never an exception."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from io import BytesIO
from xml.etree import ElementTree

import pytest
from asn1crypto import keys, x509
from cryptography import x509 as pyca
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed448, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing import PdfVerifier
from tests.services.pki import MINIMAL_PDF

NOW = dt.datetime.now(dt.UTC)


def _self_signed(key: ed448.Ed448PrivateKey | rsa.RSAPrivateKey, name: str) -> pyca.Certificate:
    subject = pyca.Name([pyca.NameAttribute(NameOID.COMMON_NAME, name)])
    algorithm = None if isinstance(key, ed448.Ed448PrivateKey) else hashes.SHA256()
    return (
        pyca.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(pyca.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=30))
        .add_extension(pyca.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, algorithm)
    )


def _asn1(cert: pyca.Certificate) -> x509.Certificate:
    return x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


async def _ed448_shake256() -> tuple[bytes, pyca.Certificate]:
    key = ed448.Ed448PrivateKey.generate()
    cert = _self_signed(key, "Ed448 Signer")
    der_key = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    signer = signers.SimpleSigner(
        signing_cert=_asn1(cert), signing_key=keys.PrivateKeyInfo.load(der_key), cert_registry=SimpleCertificateStore()
    )
    meta = signers.PdfSignatureMetadata(
        field_name="Ed448", md_algorithm="shake256", subfilter=fields.SigSeedSubFilter.PADES
    )
    out = BytesIO()
    await signers.PdfSigner(meta, signer=signer).async_sign_pdf(
        IncrementalPdfFileWriter(BytesIO(MINIMAL_PDF.read_bytes())), output=out
    )
    return out.getvalue(), cert


async def _external_cms(options: list[pkcs7.PKCS7Options]) -> tuple[bytes, pyca.Certificate]:
    """A pkcs7.detached signature field filled with a CMS object cryptography makes from the signed bytes."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _self_signed(key, "Odd CMS Signer")
    # pyHanko reserves the placeholder and digests the byte range; the CMS blob is ours.
    placeholder_signer = signers.ExternalSigner(
        signing_cert=_asn1(cert), cert_registry=SimpleCertificateStore(), signature_value=bytes(256)
    )
    meta = signers.PdfSignatureMetadata(field_name="Odd", subfilter=fields.SigSeedSubFilter.ADOBE_PKCS7_DETACHED)
    writer = IncrementalPdfFileWriter(BytesIO(MINIMAL_PDF.read_bytes()))
    prepared, _, output = await signers.PdfSigner(meta, signer=placeholder_signer).async_digest_doc_for_signing(
        writer, bytes_reserved=16384
    )
    buf = output.getvalue()
    signed_bytes = buf[: prepared.reserved_region_start] + buf[prepared.reserved_region_end :]
    cms = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(signed_bytes)
        .add_signer(cert, key, hashes.SHA256())
        .sign(serialization.Encoding.DER, options)
    )
    prepared.fill_with_cms(output, cms)
    return output.getvalue(), cert


ODD: dict[str, Callable[[], Awaitable[tuple[bytes, pyca.Certificate]]]] = {
    "ed448-shake256": _ed448_shake256,
    "cms-with-encapsulated-content": lambda: _external_cms([]),
    "cms-without-signed-attributes": lambda: _external_cms(
        [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.NoAttributes]
    ),
}


# pyHanko validates Ed448/SHAKE256; it cannot process encapsulated content, and without signed attributes there is
# no message digest to compare (pyHanko says "not intact"; the verdict says what is wrong).
EXPECTED = {
    "ed448-shake256": ("passed", "intact, signed by a trusted certificate, revocation checked"),
    "cms-with-encapsulated-content": ("failed", "the signature could not be validated"),
    "cms-without-signed-attributes": (
        "failed",
        "the signature has no signed attributes, which PDF signatures require: its content cannot be checked",
    ),
}


@pytest.mark.parametrize("make", ODD.values(), ids=ODD.keys())
async def test_odd_signature_gets_an_etsi_report_and_a_verdict(
    make: Callable[[], Awaitable[tuple[bytes, pyca.Certificate]]], request: pytest.FixtureRequest
) -> None:
    pdf, cert = await make()
    verifier = PdfVerifier([cert])

    xml = await verifier.etsi_report_xml(pdf)
    report = await verifier.verify(pdf)

    assert len(xml) == 1
    root = ElementTree.fromstring(xml[0])
    assert root.tag == "{http://uri.etsi.org/19102/v1.2.1#}ValidationReport"
    assert "urn:etsi:019102:mainindication:" in xml[0]
    assert len(report.signatures) == 1
    sig = report.signatures[0]
    assert (sig.verdict, sig.verdict_reason) == EXPECTED[request.node.callspec.id]
