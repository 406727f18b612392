"""What a signing worker process builds for itself: picklable recipes for signers, the seals and a local TSA.

A worker cannot receive live signers (keys in memory, PKCS#11 sessions, HTTP sessions are per process), so the
pool hands each worker a :class:`SigningWorkerConfig` and the worker opens its own key files, token sessions and
HTTP session from it. The identity CA is not among them: certificates are issued (and logged) by the service
itself, and only the one-signature key and its certificate go to a worker (:meth:`SigningPool.sign_once`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from ._ca import CaKey, KeyFileCaKey
from ._pkcs11 import Pkcs11Signer
from ._pkcs11_ca import Pkcs11CaKey
from ._responders import LocalTimeStamper, TimestampAuthority
from ._seals import AgencySeals
from ._sign_service import PdfSigningService
from ._signers import DocumentSigner, KeyFileSigner

__all__ = (
    "KeyFileSpec",
    "Pkcs11Spec",
    "SignerSpec",
    "SigningWorkerConfig",
    "TimestampAuthoritySpec",
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
        cert_path: The certificate file; ``None`` reads it from the token (label `cert_label`).
        chain_paths: Issuing CA certificates to embed.
        cert_label: The certificate's label on the token (default: ``key_label``).
    """

    module_path: str
    token_label: str
    pin: str = field(repr=False)
    key_label: str
    cert_path: Path | None = None
    chain_paths: tuple[Path, ...] = ()
    cert_label: str | None = None

    def open_signer(self) -> DocumentSigner:
        certificate = self.cert_path.read_bytes() if self.cert_path else None
        chain = [p.read_bytes() for p in self.chain_paths]
        return Pkcs11Signer.open(
            self.module_path,
            self.token_label,
            self.pin,
            self.key_label,
            cert_label=self.cert_label,
            chain=chain,
            certificate=certificate,
        )


SignerSpec = KeyFileSpec | Pkcs11Spec


@dataclass(frozen=True)
class TimestampAuthoritySpec:
    """A timestamp authority whose key each worker loads to answer its own timestamp requests, without HTTP: the
    service's own TSA (the development PKI's, whose token is the one its `/dev-pki/tsa` would send, or an
    operator-keyed one whose key may be in an HSM).

    Attributes:
        cert_path: The TSA certificate.
        key: Its key: a key file, or a key in a PKCS#11 token (each worker opens its own session).
        chain_paths: Issuing CA certificates included when a request asks for certificates.
    """

    cert_path: Path
    key: Path | Pkcs11Spec
    chain_paths: tuple[Path, ...] = ()

    def open(self) -> tuple[LocalTimeStamper, CaKey]:
        """The timestamp client and its key (close a PKCS#11 key's session when done)."""
        certificate = _load_cert(self.cert_path)
        chain = tuple(_load_cert(p) for p in self.chain_paths)
        if isinstance(self.key, Path):
            key: CaKey = KeyFileCaKey.load(self.key)
        else:
            spec = self.key
            key = Pkcs11CaKey.open(spec.module_path, spec.token_label, spec.pin, spec.key_label, certificate)
        return LocalTimeStamper(TimestampAuthority(certificate, key, chain)), key


def _load_cert(path: Path) -> x509.Certificate:
    data = path.read_bytes()
    return x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data else x509.load_der_x509_certificate(data)


@dataclass(frozen=True)
class SigningWorkerConfig:
    """Everything a worker needs to sign (picklable).

    Attributes:
        trust_roots: Trust anchors, PEM or DER bytes.
        tsa_url: RFC 3161 timestamp authority (its name in reports; asked over HTTP unless `timestamp_authority`).
        timestamp_authority: A TSA answered inside each worker instead of over HTTP (the service's own: the
            operator-keyed one, or the development PKI's).
        seal: The deployment seal, if any.
        agencies: ``(agency name, seal)`` pairs.
        allow_fetching: Check signer certificates online and gather B-LT material.
    """

    trust_roots: tuple[bytes, ...]
    tsa_url: str | None = None
    timestamp_authority: TimestampAuthoritySpec | None = None
    seal: SignerSpec | None = None
    agencies: tuple[tuple[str, SignerSpec], ...] = ()
    allow_fetching: bool = True


class WorkerServices:
    """The live services of one worker process, built from a :class:`SigningWorkerConfig`."""

    def __init__(self, config: SigningWorkerConfig) -> None:
        self._backends: list[DocumentSigner] = []
        self.known_crls: tuple[bytes, ...] = ()
        """The CRLs (DER) the service publishes, as the current job brought them (B-LT embeds them)."""
        stamper: LocalTimeStamper | None = None
        self._tsa_key: CaKey | None = None
        if config.timestamp_authority is not None:
            stamper, self._tsa_key = config.timestamp_authority.open()
        self._make_service = functools.partial(
            PdfSigningService,
            tsa_url=config.tsa_url,
            trust_roots=config.trust_roots,
            allow_fetching=config.allow_fetching,
            timestamper=stamper,
            known_crls=self._current_crls,
        )
        self._sealers: dict[SignerSpec, PdfSigningService] = {}
        seal = config.seal.open_signer() if config.seal else None
        if seal is not None:
            self._backends.append(seal)
        self.seal = self._make_service(seal)
        agency_signers = {name: spec.open_signer() for name, spec in config.agencies}
        self._backends += agency_signers.values()
        self.agencies = AgencySeals(
            agency_signers,
            tsa_url=config.tsa_url,
            trust_roots=config.trust_roots,
            allow_fetching=config.allow_fetching,
            timestamper=stamper,
            known_crls=self._current_crls,
        )

    def _current_crls(self) -> tuple[bytes, ...]:
        return self.known_crls

    def sealer(self, spec: SignerSpec) -> PdfSigningService:
        """A signing service for the seal `spec` names, opened on first use and kept (its signer check is cached
        like the configured seals')."""
        service = self._sealers.get(spec)
        if service is None:
            signer = spec.open_signer()
            self._backends.append(signer)
            service = self._sealers[spec] = self._make_service(signer)
        return service

    async def aclose(self) -> None:
        """Close HTTP sessions and signer back ends."""
        await self.seal.aclose()
        await self.agencies.aclose()
        for service in self._sealers.values():
            await service.aclose()
        if isinstance(self._tsa_key, Pkcs11CaKey):
            self._tsa_key.close()
        for backend in self._backends:
            backend.close()
