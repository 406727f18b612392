"""Certificate-authority keys and what they sign: certificates, CRLs and OCSP responses.

A CA key is either in process memory (a key file: development) or in a PKCS#11 token (production). Both sign
through :class:`CaKey`, so the issuing code is the same. cryptography's builders need a private key object; for a
token key they sign with a throwaway key of the same type, and the to-be-signed bytes are then re-signed by the
token (the signature algorithm identifier inside the signed part is the same for both).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path
from typing import Protocol, TypeAlias

from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp

from ._errors import SignerUnavailable

__all__ = (
    "ACR_EXTENSION_OID",
    "FULCIO_ISSUER_OID",
    "IDENTITY_POLICY_OID",
    "CaKey",
    "KeyFileCaKey",
    "PrivateKey",
    "PublicKey",
    "sign_certificate",
    "sign_crl",
    "sign_ocsp_response",
    "write_private_file",
)

PrivateKey: TypeAlias = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey: TypeAlias = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

# OIDs under the UUID arc (ITU-T X.667, `2.25.<uuid>`): unique without a registration.
_ARC = "2.25.311583687499604837951402171481253351861"
IDENTITY_POLICY_OID = x509.ObjectIdentifier(f"{_ARC}.1")
"""Certificate policy of the short-lived identity certificates: "the subject's identity was proven to the vault
by the OpenID provider named in the issuer extension, at the assurance level in the acr extension"."""
ACR_EXTENSION_OID = x509.ObjectIdentifier(f"{_ARC}.2")
"""Non-critical extension holding the provider's ``acr`` claim as a DER UTF8String."""
FULCIO_ISSUER_OID = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
"""Sigstore Fulcio's "OIDC issuer (v2)" extension (DER UTF8String), so Sigstore tooling reads our certificates."""


class CaKey(Protocol):
    """A certificate authority's signing key (ECDSA or RSA PKCS#1 v1.5, always with SHA-256)."""

    def public_key(self) -> PublicKey:
        """The CA's public key."""
        ...

    def sign(self, data: bytes) -> bytes:
        """Sign `data` (a DER to-be-signed structure); ECDSA signatures are DER-encoded."""
        ...

    def builder_key(self) -> PrivateKey:
        """A private key of the same type for cryptography's builders (the CA key itself when it is in memory)."""
        ...


class KeyFileCaKey:
    """A CA key held in memory, loaded from (or written to) a PEM file."""

    def __init__(self, key: PrivateKey) -> None:
        self._key = key

    @classmethod
    def load(cls, path: Path, passphrase: bytes | None = None) -> KeyFileCaKey:
        """Read a PEM or DER private key (RSA or EC).

        Raises:
            SignerUnavailable: The file is missing or unreadable, or holds another kind of key.
        """
        try:
            data = path.read_bytes()
            loader = (
                serialization.load_pem_private_key if b"-----BEGIN" in data else (serialization.load_der_private_key)
            )
            key = loader(data, password=passphrase)
        except (OSError, ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise SignerUnavailable("The CA key could not be loaded.") from exc
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise SignerUnavailable("Only RSA and EC CA keys are supported.")
        return cls(key)

    def save(self, path: Path) -> None:
        """Write the key as unencrypted PKCS#8 PEM, mode 0600 (development PKI only)."""
        pem = self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        write_private_file(path, pem)

    def public_key(self) -> PublicKey:
        return self._key.public_key()

    def sign(self, data: bytes) -> bytes:
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(data, ec.ECDSA(hashes.SHA256()))
        return self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def builder_key(self) -> PrivateKey:
        return self._key


def write_private_file(path: Path, data: bytes) -> None:
    """Create `path` with mode 0600 (never world-readable, even for an instant) and write `data`."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _in_memory(key: CaKey) -> bool:
    return isinstance(key, KeyFileCaKey)


def sign_certificate(builder: x509.CertificateBuilder, key: CaKey) -> x509.Certificate:
    """Sign a certificate with the CA key (SHA-256)."""
    cert = builder.sign(key.builder_key(), hashes.SHA256())
    if _in_memory(key):
        return cert
    parsed = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    signed = asn1_x509.Certificate(
        {
            "tbs_certificate": parsed["tbs_certificate"],
            "signature_algorithm": parsed["signature_algorithm"],
            "signature_value": key.sign(cert.tbs_certificate_bytes),
        }
    )
    return x509.load_der_x509_certificate(signed.dump())


def sign_crl(builder: x509.CertificateRevocationListBuilder, key: CaKey, *, deterministic: bool = False) -> bytes:
    """Sign a CRL with the CA key (SHA-256); returns DER.

    With `deterministic`, an in-memory EC key signs with RFC 6979 deterministic ECDSA, so the same list signed by
    two processes is the same bytes (a token key signs as the token does: the same content, another signature).
    """
    in_memory_ec = _in_memory(key) and isinstance(key.builder_key(), ec.EllipticCurvePrivateKey)
    crl = builder.sign(key.builder_key(), hashes.SHA256(), ecdsa_deterministic=(deterministic and in_memory_ec) or None)
    if _in_memory(key):
        return crl.public_bytes(serialization.Encoding.DER)
    parsed = asn1_crl.CertificateList.load(crl.public_bytes(serialization.Encoding.DER))
    signed = asn1_crl.CertificateList(
        {
            "tbs_cert_list": parsed["tbs_cert_list"],
            "signature_algorithm": parsed["signature_algorithm"],
            "signature": key.sign(crl.tbs_certlist_bytes),
        }
    )
    return bytes(signed.dump())


def sign_ocsp_response(builder: ocsp.OCSPResponseBuilder, key: CaKey, responder: x509.Certificate) -> bytes:
    """Set the responder id (by key hash) of `responder`, sign with the CA key (SHA-256); returns DER."""
    if _in_memory(key):
        signed = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, responder).sign(
            key.builder_key(), hashes.SHA256()
        )
        return signed.public_bytes(serialization.Encoding.DER)
    # cryptography insists that the responder certificate matches the signing key: build with a stand-in
    # certificate for the throwaway key, then put the real responder id in and sign on the token.
    stand_in = _stand_in_certificate(key.builder_key())
    built = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, stand_in).sign(key.builder_key(), hashes.SHA256())
    parsed = asn1_ocsp.OCSPResponse.load(built.public_bytes(serialization.Encoding.DER))
    basic = parsed["response_bytes"]["response"].parsed
    tbs = basic["tbs_response_data"]
    spki = asn1_x509.Certificate.load(responder.public_bytes(serialization.Encoding.DER)).public_key
    key_hash = hashlib.sha1(spki["public_key"].contents[1:]).digest()  # noqa: S324 - RFC 6960's KeyHash is SHA-1
    tbs["responder_id"] = asn1_ocsp.ResponderId(name="by_key", value=key_hash)
    tbs_der = tbs.dump(force=True)
    resigned = asn1_ocsp.BasicOCSPResponse(
        {
            "tbs_response_data": asn1_ocsp.ResponseData.load(tbs_der),
            "signature_algorithm": basic["signature_algorithm"],
            "signature": key.sign(tbs_der),
        }
    )
    return bytes(
        asn1_ocsp.OCSPResponse(
            {
                "response_status": "successful",
                "response_bytes": {"response_type": "basic_ocsp_response", "response": resigned},
            }
        ).dump()
    )


def _stand_in_certificate(key: PrivateKey) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "stand-in")])
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(minutes=1))
    )
    return builder.sign(key, hashes.SHA256())
