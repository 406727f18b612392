"""The PKCS#11 signer: RSA and EC keys generated on a SoftHSM2 token sign documents that verify."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from signing import PadesLevel, PdfSigningService, PdfVerifier, Pkcs11Signer, SignerUnavailable, SignRequest
from tests.services.pki import MINIMAL_PDF, PkiServices, pdfsig, pdfsig_valid_count
from tests.services.softhsm import SoftHsmToken

pytestmark = [pytest.mark.hsm, pytest.mark.pki]

KEYS = {"rsa": "sign-rsa", "ec": "sign-ec"}


def _generate(session, kind: str, label: str):
    from pkcs11 import Attribute, KeyType
    from pkcs11.util.ec import encode_named_curve_parameters

    private = {Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False, Attribute.SIGN: True}
    if kind == "rsa":
        return session.generate_keypair(KeyType.RSA, 2048, store=True, label=label, private_template=private)
    params = session.create_domain_parameters(
        KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True
    )
    return params.generate_keypair(store=True, label=label, private_template=private)


def _public_key(kind: str, pub):
    from pkcs11 import Attribute
    from pkcs11.util.ec import encode_ec_public_key

    if kind == "rsa":
        numbers = rsa.RSAPublicNumbers(
            int.from_bytes(pub[Attribute.PUBLIC_EXPONENT], "big"), int.from_bytes(pub[Attribute.MODULUS], "big")
        )
        return numbers.public_key()
    return serialization.load_der_public_key(encode_ec_public_key(pub))


def _issue(pki: PkiServices, public_key, name: str) -> bytes:
    issuer_key = serialization.load_pem_private_key(pki.key_path("interm").read_bytes(), None)
    issuer = x509.load_pem_x509_certificate(pki.cert_path("interm").read_bytes())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(issuer.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True
        )
        .sign(issuer_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


@pytest.fixture(scope="module")
def hsm_keys(softhsm_token: SoftHsmToken, pki: PkiServices) -> dict[str, str]:
    """An RSA and an EC key generated on the token, each with a certificate from the test PKI stored beside it."""
    from pkcs11 import Attribute, ObjectClass
    from pkcs11.util.x509 import decode_x509_certificate

    with softhsm_token.open_session() as session:
        for kind, label in KEYS.items():
            pub, _ = _generate(session, kind, label)
            der = _issue(pki, _public_key(kind, pub), f"HSM {kind.upper()} Seal")
            attrs = decode_x509_certificate(der)
            attrs.update({Attribute.TOKEN: True, Attribute.LABEL: label})
            session.create_object({**attrs, Attribute.CLASS: ObjectClass.CERTIFICATE})
    return KEYS


@pytest.mark.parametrize("kind", ["rsa", "ec"])
async def test_token_key_signs_and_never_leaves_the_token(
    kind: str, hsm_keys: dict[str, str], softhsm_token: SoftHsmToken, pki: PkiServices, tmp_path: Path
) -> None:
    from pkcs11 import Attribute, ObjectClass

    signer = Pkcs11Signer.open(
        softhsm_token.module_path, softhsm_token.token_label, softhsm_token.pin, hsm_keys[kind],
        chain=[pki.cert("interm")],
    )
    service = PdfSigningService(signer, tsa_url=pki.tsa_url, trust_roots=[pki.root_cert])
    try:
        signed = await service.sign(MINIMAL_PDF.read_bytes(), SignRequest(level=PadesLevel.B_T))
    finally:
        await service.aclose()
        signer.close()

    report = await PdfVerifier([pki.root_cert]).verify(signed)
    assert [(s.intact, s.valid, s.trusted, s.bottom_line) for s in report.signatures] == [(True, True, True, True)]
    path = tmp_path / "hsm.pdf"
    path.write_bytes(signed)
    assert pdfsig_valid_count(path, pki.nssdb) == 1, pdfsig(path, pki.nssdb)
    with softhsm_token.open_session(rw=False) as session:
        key = session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=hsm_keys[kind])
        assert key[Attribute.SENSITIVE]
        assert key[Attribute.ALWAYS_SENSITIVE]
        assert not key[Attribute.EXTRACTABLE]
        assert key[Attribute.NEVER_EXTRACTABLE]


@pytest.mark.parametrize(
    ("pin", "key_label"), [("0000", "sign-rsa"), ("1234", "no-such-key")], ids=["wrong-pin", "unknown-key"]
)
def test_unusable_token_key_is_signer_unavailable(
    pin: str, key_label: str, hsm_keys: dict[str, str], softhsm_token: SoftHsmToken
) -> None:
    with pytest.raises(SignerUnavailable):
        Pkcs11Signer.open(softhsm_token.module_path, softhsm_token.token_label, pin, key_label)


async def test_closed_token_session_is_signer_unavailable(
    hsm_keys: dict[str, str], softhsm_token: SoftHsmToken, pki: PkiServices
) -> None:
    signer = Pkcs11Signer.open(
        softhsm_token.module_path, softhsm_token.token_label, softhsm_token.pin, hsm_keys["rsa"]
    )
    service = PdfSigningService(signer, tsa_url=None, trust_roots=[pki.root_cert], unsafe_skip_signer_check=True)
    signer.close()
    with pytest.raises(SignerUnavailable):
        await service.sign(MINIMAL_PDF.read_bytes(), SignRequest())


async def test_concurrent_signatures_share_one_token_session(
    hsm_keys: dict[str, str], softhsm_token: SoftHsmToken, pki: PkiServices
) -> None:
    signer = Pkcs11Signer.open(
        softhsm_token.module_path, softhsm_token.token_label, softhsm_token.pin, hsm_keys["ec"],
        chain=[pki.cert("interm")],
    )
    service = PdfSigningService(signer, tsa_url=None, trust_roots=[pki.root_cert])
    try:
        await service.check_signer()
        signed = await asyncio.gather(*(service.sign(MINIMAL_PDF.read_bytes(), SignRequest()) for _ in range(6)))
    finally:
        await service.aclose()
        signer.close()
    verifier = PdfVerifier([pki.root_cert])
    reports = await asyncio.gather(*(verifier.verify(pdf) for pdf in signed))
    assert [r.all_passed for r in reports] == [True] * 6
