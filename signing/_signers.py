"""Signer back ends built on key material held in process memory (PEM/DER key files, PKCS#12)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from asn1crypto import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.sign import signers
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash, process_pss_params

from ._certs import load_certificate_file, to_asn1
from ._errors import SignerUnavailable

__all__ = ("DocumentSigner", "KeyFileSigner", "Pkcs12Signer")

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class DocumentSigner:
    """One configured signer back end: a key, its certificate and the chain to embed.

    Build one with :meth:`KeyFileSigner.load`, :meth:`Pkcs12Signer.load` or :meth:`Pkcs11Signer.open`.

    Attributes:
        description: A short, secret-free description for logs.
        backend_errors: Exceptions of the back end that mean "the key cannot be used right now".
    """

    backend_errors: tuple[type[Exception], ...] = ()

    def __init__(self, signer: signers.Signer, *, description: str) -> None:
        """Wrap a pyHanko signer.

        Args:
            signer: A pyHanko signer with its signing certificate set.
            description: A short, secret-free description for logs.

        Raises:
            SignerUnavailable: The signer has no certificate.
        """
        if signer.signing_cert is None:
            raise SignerUnavailable("The signer has no certificate.")
        self._signer = signer
        self.description = description

    @property
    def pyhanko_signer(self) -> signers.Signer:
        """The underlying pyHanko signer."""
        return self._signer

    @property
    def certificate(self) -> x509.Certificate:
        """The signer's certificate."""
        cert = self._signer.signing_cert
        assert cert is not None  # checked in __init__
        return cert

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        """The other certificates embedded with each signature (issuing CAs)."""
        return tuple(c for c in self._signer.cert_registry if c != self.certificate)

    def close(self) -> None:
        """Release resources held by the back end (sessions, handles); the default holds none."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.description}>"


class _LoadedKeySigner(signers.Signer):
    """A pyHanko signer that keeps its private key parsed (``SimpleSigner`` re-parses it on every signature)."""

    def __init__(
        self, key: PrivateKey, cert: x509.Certificate, chain: Iterable[x509.Certificate]
    ) -> None:
        registry = SimpleCertificateStore()  # type: ignore[no-untyped-call]
        registry.register_multiple([cert, *chain])
        super().__init__(signing_cert=cert, cert_registry=registry)
        self._key = key

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        algo = mechanism.signature_algo
        key = self._key
        if algo == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
        if algo == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, padding.PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        if algo == "rsassa_pss" and isinstance(key, rsa.RSAPrivateKey):
            pss, hash_algo = process_pss_params(mechanism["parameters"])
            return key.sign(data, pss, hash_algo)
        raise SignerUnavailable(f"Unsupported signature mechanism {algo}.")


def _check_key(key: object) -> PrivateKey:
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise SignerUnavailable("Only RSA and EC signing keys are supported.")
    return key


class KeyFileSigner(DocumentSigner):
    """A signer whose private key is a PEM or DER file."""

    @classmethod
    def load(
        cls,
        key_path: Path | str,
        cert_path: Path | str,
        chain_paths: Sequence[Path | str] = (),
        passphrase: bytes | None = None,
    ) -> KeyFileSigner:
        """Load a key, its certificate and the issuing chain from files.

        Args:
            key_path: Private key, PEM or DER (PKCS#8 or traditional).
            cert_path: The signer's certificate, PEM or DER.
            chain_paths: Issuing CA certificates to embed, PEM or DER.
            passphrase: Passphrase of an encrypted key.

        Raises:
            SignerUnavailable: A file is missing, unreadable or the passphrase is wrong.
        """
        try:
            data = Path(key_path).read_bytes()
            loader = serialization.load_pem_private_key if b"-----BEGIN" in data else (
                serialization.load_der_private_key
            )
            key = _check_key(loader(data, password=passphrase))
            cert = load_certificate_file(Path(cert_path))
            chain = [load_certificate_file(Path(p)) for p in chain_paths]
        except (OSError, ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise SignerUnavailable("The signing key or certificate could not be loaded.") from exc
        return cls(_LoadedKeySigner(key, cert, chain), description=f"key file {Path(key_path).name}")


class Pkcs12Signer(DocumentSigner):
    """A signer loaded from a PKCS#12 (``.p12``/``.pfx``) bundle."""

    @classmethod
    def load(cls, path: Path | str, passphrase: bytes | None) -> Pkcs12Signer:
        """Load the key, certificate and chain from a PKCS#12 file.

        Raises:
            SignerUnavailable: The file is missing, unreadable, has no key/certificate or the passphrase is wrong.
        """
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(Path(path).read_bytes(), passphrase)
        except (OSError, ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise SignerUnavailable("The PKCS#12 bundle could not be loaded.") from exc
        if key is None or cert is None:
            raise SignerUnavailable("The PKCS#12 bundle holds no key and certificate.")
        signer = _LoadedKeySigner(_check_key(key), to_asn1(cert), [to_asn1(c) for c in extra])
        return cls(signer, description=f"PKCS#12 {Path(path).name}")
