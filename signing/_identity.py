"""Signatures that name their signer: the Sigstore Fulcio model applied to PAdES.

Per signature, a fresh key is generated in memory, the identity CA issues a certificate valid for at most ten
minutes to the identity the OpenID provider proved (common name = the person's name; SAN URI
``<issuer>#<subject>``; the provider's ``acr`` in an extension and in the certificate policy's notice), the PDF is
signed with a signature timestamp that must fall inside the certificate's life, and the key is dropped. The
caller appends the returned certificate (or its SHA-256) to the transparency log, so an auditor can check that the
CA issued nothing unlogged.

Certificate contents (the profile an auditor can rely on):
- subject ``CN=<name>``; SAN ``URI:<issuer>#<subject>``; key usage digitalSignature + nonRepudiation (critical);
- certificate policy :data:`IDENTITY_POLICY_OID` with a user notice ``Identity verified by <issuer>; assurance
  (acr): <acr>``;
- extension :data:`ACR_EXTENSION_OID` (non-critical, DER UTF8String): the ``acr`` claim, when the provider sent one;
- extension :data:`FULCIO_ISSUER_OID` (non-critical, DER UTF8String): the OpenID issuer, as Sigstore's Fulcio
  writes it;
- AIA (OCSP, CA issuers) and CRL distribution point of the identity CA, so B-LT can embed revocation data.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from asn1crypto import core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.sign.validation.generic_cms import extract_tst_data_iter

from ._ca import ACR_EXTENSION_OID, FULCIO_ISSUER_OID, IDENTITY_POLICY_OID, CaKey, KeyFileCaKey
from ._devpki import DevPki
from ._errors import CertificateProblem, SigningError
from ._issuance import NO_URLS, CaUrls, Profile, issue
from ._model import PadesLevel, SignRequest
from ._pdfio import open_reader
from ._sign_service import PdfSigningService
from ._signers import DocumentSigner, _LoadedKeySigner

__all__ = (
    "MAX_CERTIFICATE_LIFETIME",
    "IdentityCa",
    "IdentitySigner",
    "OneOffSigning",
    "PersonalSignature",
    "VerifiedIdentity",
    "identity_of",
    "sign_once",
)

MAX_CERTIFICATE_LIFETIME = dt.timedelta(minutes=10)
_BACKDATE = dt.timedelta(seconds=30)  # tolerate clocks a little behind ours, within the ten minutes


@dataclass(frozen=True)
class VerifiedIdentity:
    """Who the OpenID provider says the signer is.

    Attributes:
        name: The person's name (the ``name`` claim, or from the provider's userinfo): the certificate's CN.
        issuer: The provider's issuer URL (``iss``).
        subject: The provider's subject identifier (``sub``).
        acr: The authentication context class the provider asserted (``acr``), if any.
    """

    name: str
    issuer: str
    subject: str
    acr: str | None = None

    def __post_init__(self) -> None:
        for label, value in (("name", self.name), ("issuer", self.issuer), ("subject", self.subject)):
            if not value or not value.strip() or any(ord(ch) < 32 for ch in value):
                raise ValueError(f"the identity's {label} must be non-empty printable text")
        if len(self.name) > 64:  # X.520 ub-common-name
            raise ValueError("the identity's name must be at most 64 characters (the X.509 common-name limit)")

    @property
    def uri(self) -> str:
        """The subject alternative name: ``<issuer>#<subject>``."""
        return f"{self.issuer}#{self.subject}"


@dataclass(frozen=True)
class IdentityCa:
    """The CA that issues the short-lived identity certificates.

    Attributes:
        certificate: The CA's certificate.
        key: Its key (a key file in development, a PKCS#11 key in production).
        chain: Certificates above the CA to embed (intermediates; the root is optional).
        urls: The AIA/CRL locations to write into the certificates it issues (where its OCSP responder and CRL
            are served).
    """

    certificate: x509.Certificate
    key: CaKey
    chain: tuple[x509.Certificate, ...] = ()
    urls: CaUrls = NO_URLS

    @classmethod
    def from_dev_pki(cls, pki: DevPki) -> IdentityCa:
        """The development PKI's identity CA."""
        return cls(pki.certificate("identity"), pki.ca_key("identity"), (), pki.urls("identity"))

    @classmethod
    def from_files(
        cls, cert_path: Path, key_path: Path, chain_paths: Sequence[Path] = (), urls: CaUrls = NO_URLS
    ) -> IdentityCa:
        """A CA whose key is a PEM/DER file (development and tests; production keeps it in an HSM)."""
        chain = tuple(x509.load_pem_x509_certificate(p.read_bytes()) for p in chain_paths)
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        return cls(cert, KeyFileCaKey.load(key_path), chain, urls)


@dataclass(frozen=True)
class PersonalSignature:
    """A document signed in a person's name.

    Attributes:
        pdf: The signed document.
        certificate_der: The certificate issued for this one signature (DER): append it to the transparency log.
        certificate_sha256: SHA-256 of ``certificate_der``, lowercase hex.
        timestamp: The signature timestamp's time (inside the certificate's validity).
        not_before: Start of the certificate's validity.
        not_after: End of the certificate's validity.
    """

    pdf: bytes
    certificate_der: bytes
    certificate_sha256: str
    timestamp: dt.datetime
    not_before: dt.datetime
    not_after: dt.datetime


def _signature_timestamp(pdf: bytes, certificate_der: bytes) -> dt.datetime | None:
    """The time of the signature timestamp on the signature made with `certificate_der` (blocking)."""
    reader = open_reader(pdf, len(pdf)).reader
    for sig in reader.embedded_regular_signatures:
        if sig.signer_cert.dump() == certificate_der:
            for token in extract_tst_data_iter(sig.signer_info, signed=False):
                when = token["encap_content_info"]["content"].parsed["gen_time"].native
                return when if isinstance(when, dt.datetime) else None
    return None


class OneOffSigning(Protocol):
    """Where a one-signature key signs: this process (:func:`sign_once` on a :class:`PdfSigningService`) or a
    worker process (:class:`SigningPool`)."""

    def admit(self) -> contextlib.AbstractContextManager[object]:
        """Take a place for one :meth:`sign_once` made inside it (a full pool raises :class:`Busy`)."""
        ...

    async def sign_once(
        self,
        key: ec.EllipticCurvePrivateKey,
        certificate: x509.Certificate,
        chain: tuple[x509.Certificate, ...],
        pdf: bytes,
        request: SignRequest,
    ) -> tuple[bytes, dt.datetime | None]:
        """`pdf` signed with `key` (errors as :meth:`PdfSigningService.sign_with`) and the time of the signature
        timestamp of that signature (``None``: it has none)."""
        ...


async def sign_once(
    engine: PdfSigningService,
    key: ec.EllipticCurvePrivateKey,
    certificate: x509.Certificate,
    chain: tuple[x509.Certificate, ...],
    pdf: bytes,
    request: SignRequest,
) -> tuple[bytes, dt.datetime | None]:
    """Sign with a one-signature key through `engine` and read back the signature timestamp's time."""
    asn1_cert = _asn1(certificate)
    signer = DocumentSigner(
        _LoadedKeySigner(key, asn1_cert, tuple(_asn1(c) for c in chain)), description="one-signature key"
    )
    del key  # the signer holds the only reference; it is dropped when this call returns
    signed = await engine.sign_with(signer, pdf, request)
    del signer
    when = await asyncio.to_thread(_signature_timestamp, signed, asn1_cert.dump())
    return signed, when


class _InProcess:
    """:class:`OneOffSigning` on this process's event loop (tests, command-line tools)."""

    def __init__(self, engine: PdfSigningService) -> None:
        self._engine = engine

    def admit(self) -> contextlib.AbstractContextManager[object]:
        return contextlib.nullcontext()

    async def sign_once(
        self,
        key: ec.EllipticCurvePrivateKey,
        certificate: x509.Certificate,
        chain: tuple[x509.Certificate, ...],
        pdf: bytes,
        request: SignRequest,
    ) -> tuple[bytes, dt.datetime | None]:
        return await sign_once(self._engine, key, certificate, chain, pdf, request)


class IdentitySigner:
    """Signs PDFs in people's names with one-signature keys and short-lived certificates.

    The key is made and the certificate issued here, in the caller's process (the CA key and the audit log live
    there); the key then signs where `engine` signs: a :class:`PdfSigningService` signs in this process, a
    :class:`SigningPool` in a worker process (the key crosses a local pipe once, in memory, and is never written).

    Args:
        ca: The identity CA.
        engine: Where the key signs: a signing service that holds the TSA, trust roots and fetching settings (its
            own signer, if any, is not used), or a :class:`SigningPool`.
        lifetime: Certificate validity, at most :data:`MAX_CERTIFICATE_LIFETIME` (including a 30-second backdate).
    """

    def __init__(
        self,
        ca: IdentityCa,
        engine: PdfSigningService | OneOffSigning,
        lifetime: dt.timedelta = MAX_CERTIFICATE_LIFETIME,
    ) -> None:
        if not dt.timedelta(minutes=1) <= lifetime <= MAX_CERTIFICATE_LIFETIME:
            raise ValueError("an identity certificate lives between one and ten minutes")
        self._ca = ca
        self._engine: OneOffSigning = _InProcess(engine) if isinstance(engine, PdfSigningService) else engine
        self._lifetime = lifetime

    async def sign(
        self,
        pdf: bytes,
        identity: VerifiedIdentity,
        request: SignRequest,
        on_issue: Callable[[bytes], Awaitable[object]] | None = None,
    ) -> PersonalSignature:
        """Sign `pdf` as `identity`; B-B requests are raised to B-T (a person's signature needs a trusted time).

        `on_issue` is awaited with the certificate (DER) as soon as it is issued, before its key signs anything:
        append it to the transparency log there, and an exception from it stops the signature (nothing issued
        goes unlogged, nothing unlogged is used).

        Raises:
            TimestampUnavailable: No TSA is configured or it failed; nothing was signed.
            CertificateProblem: The timestamp fell outside the certificate's life.
            Busy: The signing pool is full (nothing was issued).
            InvalidPdf, SignatureFieldError, SignerUnavailable: As :meth:`PdfSigningService.sign`.
        """
        if request.level is PadesLevel.B_B:
            request = dataclasses.replace(request, level=PadesLevel.B_T)
        with self._engine.admit():  # a full pool refuses before a certificate is issued and logged
            key = ec.generate_private_key(ec.SECP256R1())  # one key per signature, never stored
            cert = self._issue(identity, key.public_key())
            der = cert.public_bytes(serialization.Encoding.DER)
            if on_issue is not None:
                await on_issue(der)
            chain = (self._ca.certificate, *self._ca.chain)
            signed, when = await self._engine.sign_once(key, cert, chain, pdf, request)
            del key
        if when is None or not cert.not_valid_before_utc <= when <= cert.not_valid_after_utc:
            raise CertificateProblem("The signature timestamp fell outside the signing certificate's life.")
        return PersonalSignature(
            signed, der, hashlib.sha256(der).hexdigest(), when, cert.not_valid_before_utc, cert.not_valid_after_utc
        )

    def _issue(self, identity: VerifiedIdentity, public_key: ec.EllipticCurvePublicKey) -> x509.Certificate:
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        acr = identity.acr or "not stated"
        notice = f"Identity verified by {identity.issuer}; assurance (acr): {acr}"[:200]
        extensions: list[tuple[x509.ExtensionType, bool]] = [
            (x509.SubjectAlternativeName([x509.UniformResourceIdentifier(identity.uri)]), False),
            (
                x509.CertificatePolicies(
                    [x509.PolicyInformation(IDENTITY_POLICY_OID, [x509.UserNotice(None, notice)])]
                ),
                False,
            ),
            (x509.UnrecognizedExtension(FULCIO_ISSUER_OID, _utf8(identity.issuer)), False),
        ]
        if identity.acr:
            extensions.append((x509.UnrecognizedExtension(ACR_EXTENSION_OID, _utf8(identity.acr)), False))
        try:
            return issue(
                subject=x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, identity.name)]),
                public_key=public_key,
                issuer=self._ca.certificate.subject,
                issuer_key=self._ca.key,
                profile=Profile.PERSON,
                not_before=now - _BACKDATE,
                not_after=now - _BACKDATE + self._lifetime,
                urls=self._ca.urls,
                extra=tuple(extensions),
            )
        except SigningError:
            raise
        except Exception as exc:  # the CA's key back end (token gone, wrong PIN) or an unusable CA key
            raise CertificateProblem("The identity certificate could not be issued.") from exc


def identity_of(certificate: x509.Certificate) -> VerifiedIdentity:
    """Read back the identity an identity certificate was issued to."""
    name = str(certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value)
    uri = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    issuer, _, subject = uri.get_values_for_type(x509.UniformResourceIdentifier)[0].rpartition("#")
    acr = None
    for extension in certificate.extensions:
        if extension.oid == ACR_EXTENSION_OID:
            acr = str(core.UTF8String.load(extension.value.value).native)
    return VerifiedIdentity(name=name, issuer=issuer, subject=subject, acr=acr)


def _utf8(text: str) -> bytes:
    return bytes(core.UTF8String(text).dump())


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
