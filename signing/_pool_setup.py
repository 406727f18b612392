"""What a signing worker process builds for itself: picklable recipes for signers, the identity CA and the seals.

A worker cannot receive live signers (keys in memory, PKCS#11 sessions, HTTP sessions are per process), so the
pool hands each worker a :class:`SigningWorkerConfig` and the worker opens its own key files, token sessions and
HTTP session from it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from ._ca import CaKey, KeyFileCaKey
from ._identity import MAX_CERTIFICATE_LIFETIME, IdentityCa, IdentitySigner
from ._issuance import NO_URLS, CaUrls
from ._pkcs11 import Pkcs11Signer
from ._pkcs11_ca import Pkcs11CaKey
from ._seals import AgencySeals
from ._sign_service import PdfSigningService
from ._signers import DocumentSigner, KeyFileSigner

__all__ = (
    "IdentityCaSpec",
    "KeyFileSpec",
    "Pkcs11Spec",
    "SignerSpec",
    "SigningWorkerConfig",
    "WorkerServices",
)


@dataclass(frozen=True)
class KeyFileSpec:
    """A key file, its certificate and the chain to embed (PEM or DER paths)."""

    key_path: Path
    cert_path: Path
    chain_paths: tuple[Path, ...] = ()

    def open_signer(self) -> DocumentSigner:
        return KeyFileSigner.load(self.key_path, self.cert_path, self.chain_paths)


@dataclass(frozen=True)
class Pkcs11Spec:
    """A key in a PKCS#11 token; each worker process opens its own session and logs in.

    Attributes:
        module_path: The PKCS#11 module.
        token_label: The token's label.
        pin: The user PIN (kept out of ``repr``).
        key_label: The private key's label.
        cert_path: The certificate file; ``None`` reads it from the token (label ``key_label``).
        chain_paths: Issuing CA certificates to embed.
    """

    module_path: str
    token_label: str
    pin: str = field(repr=False)
    key_label: str
    cert_path: Path | None = None
    chain_paths: tuple[Path, ...] = ()

    def open_signer(self) -> DocumentSigner:
        certificate = self.cert_path.read_bytes() if self.cert_path else None
        chain = [p.read_bytes() for p in self.chain_paths]
        return Pkcs11Signer.open(
            self.module_path, self.token_label, self.pin, self.key_label, chain=chain, certificate=certificate
        )

    def open_ca_key(self, certificate: x509.Certificate) -> CaKey:
        return Pkcs11CaKey.open(self.module_path, self.token_label, self.pin, self.key_label, certificate)


SignerSpec = KeyFileSpec | Pkcs11Spec


@dataclass(frozen=True)
class IdentityCaSpec:
    """The identity CA: its certificate, its key (a key file or a PKCS#11 key), chain and published URLs."""

    cert_path: Path
    key: KeyFileSpec | Pkcs11Spec
    chain_paths: tuple[Path, ...] = ()
    urls: CaUrls = NO_URLS

    def open(self) -> IdentityCa:
        cert = _load_cert(self.cert_path)
        chain = tuple(_load_cert(p) for p in self.chain_paths)
        key: CaKey = (
            KeyFileCaKey.load(self.key.key_path) if isinstance(self.key, KeyFileSpec) else self.key.open_ca_key(cert)
        )
        return IdentityCa(cert, key, chain, self.urls)


def _load_cert(path: Path) -> x509.Certificate:
    data = path.read_bytes()
    return x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data else x509.load_der_x509_certificate(data)


@dataclass(frozen=True)
class SigningWorkerConfig:
    """Everything a worker needs to sign (picklable).

    Attributes:
        trust_roots: Trust anchors, PEM or DER bytes.
        tsa_url: RFC 3161 timestamp authority.
        seal: The deployment seal, if any.
        agencies: ``(agency name, seal)`` pairs.
        identity_ca: The identity CA for personal signatures, if any.
        allow_fetching: Check signer certificates online and gather B-LT material.
        identity_lifetime: Lifetime of identity certificates (at most ten minutes).
    """

    trust_roots: tuple[bytes, ...]
    tsa_url: str | None = None
    seal: SignerSpec | None = None
    agencies: tuple[tuple[str, SignerSpec], ...] = ()
    identity_ca: IdentityCaSpec | None = None
    allow_fetching: bool = True
    identity_lifetime: dt.timedelta = MAX_CERTIFICATE_LIFETIME


class WorkerServices:
    """The live services of one worker process, built from a :class:`SigningWorkerConfig`."""

    def __init__(self, config: SigningWorkerConfig) -> None:
        self._backends: list[DocumentSigner] = []
        self._ca_key: CaKey | None = None
        roots, tsa, fetch = config.trust_roots, config.tsa_url, config.allow_fetching
        seal = config.seal.open_signer() if config.seal else None
        if seal is not None:
            self._backends.append(seal)
        self.seal = PdfSigningService(seal, tsa_url=tsa, trust_roots=roots, allow_fetching=fetch)
        agency_signers = {name: spec.open_signer() for name, spec in config.agencies}
        self._backends += agency_signers.values()
        self.agencies = AgencySeals(agency_signers, tsa_url=tsa, trust_roots=roots, allow_fetching=fetch)
        self.identity: IdentitySigner | None = None
        if config.identity_ca is not None:
            ca = config.identity_ca.open()
            self._ca_key = ca.key
            self.identity = IdentitySigner(ca, self.seal, config.identity_lifetime)

    async def aclose(self) -> None:
        """Close HTTP sessions, signer back ends and the CA's token session."""
        await self.seal.aclose()
        await self.agencies.aclose()
        for backend in self._backends:
            backend.close()
        if isinstance(self._ca_key, Pkcs11CaKey):
            self._ca_key.close()
