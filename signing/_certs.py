"""Reading certificates in the forms callers hand us (asn1crypto, cryptography, PEM/DER bytes or files)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import TypeAlias

from asn1crypto import pem, x509
from cryptography import x509 as pyca_x509
from cryptography.hazmat.primitives import serialization

__all__ = ("CertificateLike", "fingerprint", "load_certificate_file", "to_asn1", "to_asn1_all")

CertificateLike: TypeAlias = x509.Certificate | pyca_x509.Certificate | bytes | Path


def to_asn1(cert: CertificateLike) -> x509.Certificate:
    """Convert any supported certificate form to an asn1crypto certificate."""
    if isinstance(cert, x509.Certificate):
        return cert
    if isinstance(cert, pyca_x509.Certificate):
        return x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    if isinstance(cert, Path):
        return load_certificate_file(cert)
    if pem.detect(cert):
        _, _, cert = pem.unarmor(cert)
    return x509.Certificate.load(cert, strict=True)


def to_asn1_all(certs: Iterable[CertificateLike]) -> list[x509.Certificate]:
    """Convert several certificates (see :func:`to_asn1`); PEM bundles (bytes or files) give all their certificates."""
    out: list[x509.Certificate] = []
    for cert in certs:
        data = cert.read_bytes() if isinstance(cert, Path) else cert
        if isinstance(data, bytes) and pem.detect(data):
            out += [
                x509.Certificate.load(der, strict=True)
                for kind, _, der in pem.unarmor(data, multiple=True)
                if kind == "CERTIFICATE"
            ]
        else:
            out.append(to_asn1(data))
    return out


def load_certificate_file(path: Path) -> x509.Certificate:
    """Read one PEM or DER certificate file."""
    return to_asn1(path.read_bytes())


def fingerprint(cert: x509.Certificate) -> str:
    """The SHA-256 fingerprint of the DER encoding, lowercase hex."""
    return hashlib.sha256(cert.dump()).hexdigest()
