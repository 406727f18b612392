"""The embedded development PKI: a root CA, an issuing CA and a service seal, created once and reused."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ._certs import load_certificate_file
from ._signers import KeyFileSigner

__all__ = ("DevPki", "ensure_dev_pki")

_ROOT, _ISSUING, _SEAL_CERT, _SEAL_KEY = "root-ca.cert.pem", "issuing-ca.cert.pem", "seal.cert.pem", "seal.key.pem"


@dataclass(frozen=True)
class DevPki:
    """Paths of the development PKI's files.

    Attributes:
        directory: Where the files live.
        root_cert_path: The root CA certificate (the trust anchor to verify against).
        issuing_cert_path: The issuing CA certificate (embedded in signatures).
        seal_cert_path: The service seal certificate.
        seal_key_path: The service seal's private key (mode 0600).
    """

    directory: Path

    @property
    def root_cert_path(self) -> Path:
        return self.directory / _ROOT

    @property
    def issuing_cert_path(self) -> Path:
        return self.directory / _ISSUING

    @property
    def seal_cert_path(self) -> Path:
        return self.directory / _SEAL_CERT

    @property
    def seal_key_path(self) -> Path:
        return self.directory / _SEAL_KEY

    def load_signer(self) -> KeyFileSigner:
        """A signer for the service seal."""
        return KeyFileSigner.load(self.seal_key_path, self.seal_cert_path, chain_paths=(self.issuing_cert_path,))

    def trust_roots(self) -> tuple[asn1_x509.Certificate, ...]:
        """The trust anchors for documents sealed by this PKI."""
        return (load_certificate_file(self.root_cert_path),)


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Citizen Vault (development only)"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _issue(
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey],
    years: int,
    ca: bool,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    usage = dict.fromkeys(
        ("content_commitment", "key_encipherment", "data_encipherment", "key_agreement", "encipher_only",
         "decipher_only", "digital_signature", "key_cert_sign", "crl_sign"),
        False,
    )
    usage.update(key_cert_sign=ca, crl_sign=ca, digital_signature=True, content_commitment=not ca)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0])
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca and years < 20 else None), critical=True)
        .add_extension(x509.KeyUsage(**usage), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    return builder.sign(issuer[1], hashes.SHA256())


def _write(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _create(target: Path, common_name: str) -> None:
    root_key, issuing_key, seal_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    root_name, issuing_name = _name(f"{common_name} Root CA"), _name(f"{common_name} Issuing CA")
    root = _issue(root_name, root_key.public_key(), (root_name, root_key), years=25, ca=True)
    issuing = _issue(issuing_name, issuing_key.public_key(), (root_name, root_key), years=10, ca=True)
    seal = _issue(_name(common_name), seal_key.public_key(), (issuing_name, issuing_key), years=3, ca=False)
    pem = serialization.Encoding.PEM
    _write(target / _ROOT, root.public_bytes(pem), 0o644)
    _write(target / _ISSUING, issuing.public_bytes(pem), 0o644)
    key_pem = seal_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    _write(target / _SEAL_KEY, key_pem, 0o600)
    _write(target / _SEAL_CERT, seal.public_bytes(pem), 0o644)  # written last: marks the PKI complete
    # The CA keys are not kept: nothing else can ever be issued under this development root.


def ensure_dev_pki(directory: Path, common_name: str = "Citizen Vault Development Seal") -> DevPki:
    """Create the development PKI in `directory` on first use, reuse it afterwards.

    Creation happens in a temporary sibling directory renamed into place, so concurrent first starts end
    with one complete PKI.

    Args:
        directory: The PKI's directory (created; its parent must be writable).
        common_name: The seal certificate's common name (CA names derive from it).

    Returns:
        The PKI's paths and helpers.
    """
    pki = DevPki(directory)
    if pki.seal_cert_path.exists():
        return pki
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = directory.parent / f".{directory.name}.{uuid.uuid4().hex}.tmp"
    tmp.mkdir(mode=0o700)
    try:
        _create(tmp, common_name)
        with contextlib.suppress(FileNotFoundError):
            directory.rmdir()  # an empty placeholder directory; a non-empty one makes the rename fail
        os.rename(tmp, directory)
    except OSError:
        if not pki.seal_cert_path.exists():  # not a lost race with another process: a real failure
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return pki
