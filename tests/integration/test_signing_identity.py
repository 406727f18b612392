"""Signatures that name their signer: one fresh key and a certificate of at most ten minutes per signature,
issued to the proven identity, timestamped inside its life; the CA key in a file or in SoftHSM2."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import AsyncIterator
from io import BytesIO
from pathlib import Path

import pytest
from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from pyhanko.pdf_utils.reader import PdfFileReader

from signing import (
    ACR_EXTENSION_OID,
    FULCIO_ISSUER_OID,
    IDENTITY_POLICY_OID,
    CertificateProblem,
    CrlIssuer,
    DevPkiResponders,
    IdentityCa,
    IdentitySigner,
    OcspResponder,
    PadesLevel,
    PdfSigningService,
    PdfVerifier,
    PeriodicCrl,
    Pkcs11CaKey,
    SignRequest,
    TimestampUnavailable,
    VerifiedIdentity,
    identity_of,
)
from signing._issuance import Profile, issue, name
from tests.services.devpki_http import DevPkiServer, ServedDevPki
from tests.services.pki import MINIMAL_PDF, pdfsig, pdfsig_valid_count, qpdf_check
from tests.services.softhsm import SoftHsmToken

DER = Encoding.DER
ALICE = VerifiedIdentity(name="Alice Example", issuer="https://id.example.gov", subject="a1b2c3", acr="eidas-high")


@pytest.fixture
async def engine(served_pki: ServedDevPki) -> AsyncIterator[PdfSigningService]:
    pki = served_pki.pki
    service = PdfSigningService(None, tsa_url=pki.tsa_url, trust_roots=pki.trust_roots())
    yield service
    await service.aclose()


def _embedded_signer_der(pdf: bytes) -> bytes:
    sig = PdfFileReader(BytesIO(pdf)).embedded_regular_signatures[0]
    assert isinstance(sig.signed_data, cms.SignedData)
    return bytes(sig.signer_cert.dump())


@pytest.mark.parametrize("level", [PadesLevel.B_T, PadesLevel.B_LT])
async def test_signature_names_the_person_and_lives_at_most_ten_minutes(
    level: PadesLevel, served_pki: ServedDevPki, engine: PdfSigningService, tmp_path: Path
) -> None:
    signer = IdentitySigner(IdentityCa.from_dev_pki(served_pki.pki), engine)

    result = await signer.sign(MINIMAL_PDF.read_bytes(), ALICE, SignRequest(level=level, reason="I agree"))

    cert = x509.load_der_x509_certificate(result.certificate_der)
    assert result.certificate_sha256 == hashlib.sha256(result.certificate_der).hexdigest()
    assert _embedded_signer_der(result.pdf) == result.certificate_der
    assert cert.not_valid_after_utc - cert.not_valid_before_utc <= dt.timedelta(minutes=10)
    assert cert.not_valid_before_utc <= result.timestamp <= cert.not_valid_after_utc
    assert cert.subject.rfc4514_string() == "CN=Alice Example"
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == ["https://id.example.gov#a1b2c3"]
    policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier for p in policies] == [IDENTITY_POLICY_OID]
    assert "eidas-high" in str(policies[0].policy_qualifiers[0].explicit_text)  # type: ignore[index,union-attr]
    assert cert.extensions.get_extension_for_oid(FULCIO_ISSUER_OID).critical is False
    assert cert.extensions.get_extension_for_oid(ACR_EXTENSION_OID).critical is False
    assert identity_of(cert) == ALICE
    report = await PdfVerifier(served_pki.pki.trust_roots()).verify(result.pdf)
    sig = report.signatures[0]
    assert (sig.intact, sig.valid, sig.trusted, sig.bottom_line) == (True, True, True, True)
    assert sig.pades_level == level.value
    assert sig.signer is not None
    assert "Alice Example" in sig.signer.subject
    path = tmp_path / "alice.pdf"
    path.write_bytes(result.pdf)
    output = pdfsig(path, served_pki.nssdb)
    assert pdfsig_valid_count(path, served_pki.nssdb) == 1, output
    assert "Signer Certificate Common Name: Alice Example" in output
    assert qpdf_check(path).returncode == 0


async def test_two_signatures_never_share_a_key_or_a_certificate(
    served_pki: ServedDevPki, engine: PdfSigningService
) -> None:
    signer = IdentitySigner(IdentityCa.from_dev_pki(served_pki.pki), engine)

    first = await signer.sign(MINIMAL_PDF.read_bytes(), ALICE, SignRequest(level=PadesLevel.B_T))
    second = await signer.sign(first.pdf, ALICE, SignRequest(level=PadesLevel.B_T))

    certs = [x509.load_der_x509_certificate(r.certificate_der) for r in (first, second)]
    keys = [
        c.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        for c in certs
    ]
    assert keys[0] != keys[1]
    assert certs[0].serial_number != certs[1].serial_number
    report = await PdfVerifier(served_pki.pki.trust_roots()).verify(second.pdf)
    assert [(s.intact, s.valid, s.trusted) for s in report.signatures] == [(True, True, True)] * 2


async def test_a_basic_level_request_still_gets_a_timestamp(
    served_pki: ServedDevPki, engine: PdfSigningService
) -> None:
    signer = IdentitySigner(IdentityCa.from_dev_pki(served_pki.pki), engine)

    result = await signer.sign(MINIMAL_PDF.read_bytes(), ALICE, SignRequest(level=PadesLevel.B_B))

    report = await PdfVerifier(served_pki.pki.trust_roots()).verify(result.pdf)
    assert report.signatures[0].timestamp is not None


async def test_without_a_tsa_nothing_is_signed(served_pki: ServedDevPki) -> None:
    service = PdfSigningService(None, tsa_url=None, trust_roots=served_pki.pki.trust_roots())
    signer = IdentitySigner(IdentityCa.from_dev_pki(served_pki.pki), service)
    with pytest.raises(TimestampUnavailable):
        await signer.sign(MINIMAL_PDF.read_bytes(), ALICE, SignRequest(level=PadesLevel.B_T))


async def test_a_timestamp_outside_the_certificate_life_is_refused(served_pki: ServedDevPki) -> None:
    late = DevPkiServer()
    later = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=1)
    late.serve(DevPkiResponders(served_pki.pki, clock=lambda: later))
    service = PdfSigningService(None, tsa_url=f"{late.base_url}/tsa", trust_roots=served_pki.pki.trust_roots())
    signer = IdentitySigner(IdentityCa.from_dev_pki(served_pki.pki), service)
    try:
        with pytest.raises(CertificateProblem, match="outside"):
            await signer.sign(MINIMAL_PDF.read_bytes(), ALICE, SignRequest(level=PadesLevel.B_T))
    finally:
        await service.aclose()
        late.close()


@pytest.mark.parametrize(
    "identity",
    [
        {"name": "", "issuer": "https://id", "subject": "s"},
        {"name": "A", "issuer": "https://id", "subject": "line\nbreak"},
        {"name": "x" * 65, "issuer": "https://id", "subject": "s"},
    ],
    ids=["empty-name", "control-character", "name-too-long"],
)
def test_an_unusable_identity_is_refused(identity: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        VerifiedIdentity(**identity)


def test_a_lifetime_over_ten_minutes_is_refused(served_pki: ServedDevPki, engine: PdfSigningService) -> None:
    with pytest.raises(ValueError):
        IdentitySigner(IdentityCa.from_dev_pki(served_pki.pki), engine, lifetime=dt.timedelta(minutes=11))


def _token_key(softhsm_token: SoftHsmToken, kind: str, label: str) -> ec.EllipticCurvePublicKey | rsa.RSAPublicKey:
    from pkcs11 import Attribute, KeyType
    from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

    private = {Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False, Attribute.SIGN: True}
    with softhsm_token.open_session() as session:
        if kind == "rsa":
            public, _ = session.generate_keypair(KeyType.RSA, 2048, store=True, label=label, private_template=private)
            exponent, modulus = public[Attribute.PUBLIC_EXPONENT], public[Attribute.MODULUS]
            return rsa.RSAPublicNumbers(int.from_bytes(exponent, "big"), int.from_bytes(modulus, "big")).public_key()
        params = session.create_domain_parameters(
            KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True
        )
        public, _ = params.generate_keypair(store=True, label=label, private_template=private)
        key = serialization.load_der_public_key(encode_ec_public_key(public))
        assert isinstance(key, ec.EllipticCurvePublicKey)
        return key


def _check_signed_by(public: ec.EllipticCurvePublicKey | rsa.RSAPublicKey, signature: bytes, data: bytes) -> None:
    if isinstance(public, ec.EllipticCurvePublicKey):
        public.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    else:
        public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())


@pytest.mark.hsm
@pytest.mark.parametrize("kind", ["ec", "rsa"])
async def test_the_ca_key_can_live_in_softhsm(
    kind: str, served_pki: ServedDevPki, engine: PdfSigningService, softhsm_token: SoftHsmToken, tmp_path: Path
) -> None:
    ca_public = _token_key(softhsm_token, kind, f"identity-ca-{kind}")
    pki = served_pki.pki
    now = dt.datetime.now(dt.UTC)
    ca_cert = issue(
        subject=name(f"HSM Identity CA {kind}"),
        public_key=ca_public,
        issuer=pki.certificate("root").subject,
        issuer_key=pki.ca_key("root"),
        profile=Profile.CA,
        not_before=now - dt.timedelta(minutes=5),
        not_after=now + dt.timedelta(days=1),
        urls=pki.urls("root"),
    )
    key = Pkcs11CaKey.open(
        softhsm_token.module_path, softhsm_token.token_label, softhsm_token.pin, f"identity-ca-{kind}", ca_cert
    )
    try:
        signer = IdentitySigner(IdentityCa(ca_cert, key), engine)
        result = await signer.sign(MINIMAL_PDF.read_bytes(), ALICE, SignRequest(level=PadesLevel.B_T))
        cert = x509.load_der_x509_certificate(result.certificate_der)
        request = ocsp.OCSPRequestBuilder().add_certificate(cert, ca_cert, hashes.SHA1()).build()
        response = ocsp.load_der_ocsp_response(OcspResponder(ca_cert, key).respond(request.public_bytes(DER)))
        crl = x509.load_der_x509_crl(CrlIssuer(ca_cert, key).current())
        published = x509.load_der_x509_crl(PeriodicCrl(ca_cert, key).current().der)  # what /pki/ serves
    finally:
        key.close()

    _check_signed_by(ca_public, cert.signature, cert.tbs_certificate_bytes)  # all signed on the token
    _check_signed_by(ca_public, response.signature, response.tbs_response_bytes)
    assert response.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert crl.is_signature_valid(ca_public)
    assert published.is_signature_valid(ca_public)
    report = await PdfVerifier(pki.trust_roots()).verify(result.pdf)
    assert [(s.intact, s.valid, s.trusted) for s in report.signatures] == [(True, True, True)]
    path = tmp_path / "hsm-identity.pdf"
    path.write_bytes(result.pdf)
    assert pdfsig_valid_count(path, served_pki.nssdb) == 1, pdfsig(path, served_pki.nssdb)


async def test_the_certificate_is_handed_over_before_its_key_signs(
    served_pki: ServedDevPki, engine: PdfSigningService
) -> None:
    signer = IdentitySigner(IdentityCa.from_dev_pki(served_pki.pki), engine)
    logged: list[bytes] = []

    async def log(der: bytes) -> None:
        logged.append(der)

    result = await signer.sign(MINIMAL_PDF.read_bytes(), ALICE, SignRequest(level=PadesLevel.B_T), on_issue=log)
    assert logged == [result.certificate_der]

    class LogDown(Exception):
        pass

    async def refuse(der: bytes) -> None:
        raise LogDown(der.hex()[:8])

    with pytest.raises(LogDown):  # the log refused: nothing is signed with an unlogged certificate
        await signer.sign(MINIMAL_PDF.read_bytes(), ALICE, SignRequest(level=PadesLevel.B_T), on_issue=refuse)
