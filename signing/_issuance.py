"""Certificate profiles of the development PKI and the identity CA: CA, seal, TSA, short-lived identity."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from ._ca import CaKey, PublicKey, sign_certificate

__all__ = ("NO_URLS", "CaUrls", "Profile", "issue", "name")


class Profile(Enum):
    """What a certificate is for (decides basic constraints, key usage and extended key usage)."""

    ROOT = "root"
    CA = "ca"
    SEAL = "seal"
    TSA = "tsa"
    PERSON = "person"


@dataclass(frozen=True)
class CaUrls:
    """Where relying parties find an issuing CA's certificate, OCSP responder and CRL.

    Attributes:
        ca_issuers: URL of the issuer's certificate (DER); ``None`` to leave it out.
        ocsp: URL of the OCSP responder for certificates this CA issued; ``None`` to leave it out.
        crl: URL of this CA's CRL; ``None`` to leave it out.
    """

    ca_issuers: str | None = None
    ocsp: str | None = None
    crl: str | None = None


NO_URLS = CaUrls()
"""No AIA or CRL locations (roots, and PKIs used offline)."""


def name(common_name: str, organization: str | None = None) -> x509.Name:
    """A subject or issuer name: the organisation (when given), then the common name."""
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)] if organization else []
    return x509.Name([*attributes, x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_usage(profile: Profile) -> x509.KeyUsage:
    ca = profile in (Profile.ROOT, Profile.CA)
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=profile in (Profile.SEAL, Profile.PERSON),
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _with_urls(builder: x509.CertificateBuilder, urls: CaUrls) -> x509.CertificateBuilder:
    access = []
    if urls.ocsp:
        access.append(
            x509.AccessDescription(AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(urls.ocsp))
        )
    if urls.ca_issuers:
        access.append(
            x509.AccessDescription(
                AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(urls.ca_issuers)
            )
        )
    if access:
        builder = builder.add_extension(x509.AuthorityInformationAccess(access), critical=False)
    if urls.crl:
        point = x509.DistributionPoint([x509.UniformResourceIdentifier(urls.crl)], None, None, None)
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    return builder


def issue(
    *,
    subject: x509.Name,
    public_key: PublicKey,
    issuer: x509.Name,
    issuer_key: CaKey,
    profile: Profile,
    not_before: dt.datetime,
    not_after: dt.datetime,
    urls: CaUrls = NO_URLS,
    extra: tuple[tuple[x509.ExtensionType, bool], ...] = (),
) -> x509.Certificate:
    """Issue one certificate.

    Args:
        subject: The subject name.
        public_key: The subject's public key.
        issuer: The issuer's subject name.
        issuer_key: The issuer's key (for a root, the subject's own key).
        profile: What the certificate is for.
        not_before: Start of validity (whole seconds).
        not_after: End of validity (whole seconds).
        urls: The issuer's AIA and CRL locations (none for a root).
        extra: Further ``(extension, critical)`` pairs.
    """
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before.replace(microsecond=0))
        .not_valid_after(not_after.replace(microsecond=0))
        .add_extension(
            x509.BasicConstraints(
                ca=profile in (Profile.ROOT, Profile.CA), path_length=0 if profile is Profile.CA else None
            ),
            critical=True,
        )
        .add_extension(_key_usage(profile), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    )
    if profile is Profile.TSA:
        # RFC 3161 §2.3: a TSA certificate has exactly this one extended key usage, marked critical.
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
    builder = _with_urls(builder, urls)
    for extension, critical in extra:
        builder = builder.add_extension(extension, critical=critical)
    return sign_certificate(builder, issuer_key)
