"""Building the signers and the verifier from settings: key files, an HSM (PKCS#11), or the development PKI.

Three signers: the deployment's seal (the service's own documents), the identity CA (a ten-minute certificate
naming the citizen, per signature) and each agency's own seal. In development the development PKI provides all
three, and its TSA, OCSP responders and CRLs are served by the service under `/dev-pki/`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

import signing
from vault.settings import ConfigurationError, Settings
from vault.signatures.devpki import InProcessTimeStamper
from vault.signatures.published import IDENTITY_CRL, PKI_PATH, PublishedCrls, crl_files
from vault.signatures.seals import AgencySealBook

__all__ = ("SigningSetup", "build_signing", "trust_roots", "trusted_list")

log = logging.getLogger(__name__)


def _pkcs11_query(url: str, variable: str, needed: tuple[str, ...]) -> tuple[str, dict[str, str], str]:
    """(module path, query, PIN) of a `pkcs11:<module>?token=..&pin-env=..&...` URL."""
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    module = unquote(parts.path)
    missing = [name for name in ("token", "pin-env", *needed) if name not in query]
    if missing or not module:
        raise ValueError(f"{variable} needs a module path and {', '.join(missing) or 'nothing else'}")
    pin = os.environ.get(query["pin-env"])
    if pin is None:
        raise ValueError(f"the PIN variable {query['pin-env']} named by {variable} is not set")
    return module, query, pin


def _pkcs11_spec(url: str, variable: str = "VAULT_SIGNING_PKCS11") -> signing.Pkcs11Spec:
    """`pkcs11:<module path>?token=LABEL&pin-env=VAR&key=LABEL[&cert=LABEL][&chain=/a.pem,/b.pem]`."""
    module, query, pin = _pkcs11_query(url, variable, ("key",))
    chain = tuple(Path(p) for p in query.get("chain", "").split(",") if p)
    return signing.Pkcs11Spec(module, query["token"], pin, query["key"], None, chain, cert_label=query.get("cert"))


def _pkcs11_signer(url: str, variable: str = "VAULT_SIGNING_PKCS11") -> signing.DocumentSigner:
    return _pkcs11_spec(url, variable).open_signer()


def _agency_specs(value: str) -> dict[str, signing.SignerSpec]:
    """`VAULT_AGENCY_SEALS`: `;`-separated `<agency>=<key>,<cert>[,<chain>...]` or `<agency>=pkcs11:...`."""
    specs: dict[str, signing.SignerSpec] = {}
    for item in (part.strip() for part in value.split(";")):
        if not item:
            continue
        agency, sep, spec = (x.strip() for x in item.partition("="))
        if not sep or not agency or not spec:
            raise ValueError("VAULT_AGENCY_SEALS entries are <agency>=<key>,<cert>[,<chain>...] or <agency>=pkcs11:...")
        if spec.startswith("pkcs11:"):
            specs[agency] = _pkcs11_spec(spec, "VAULT_AGENCY_SEALS")
            continue
        files = [Path(p.strip()) for p in spec.split(",") if p.strip()]
        if len(files) < 2:
            raise ValueError(f"VAULT_AGENCY_SEALS: the seal of {agency} needs a key file and a certificate file")
        specs[agency] = signing.KeyFileSpec(files[0], files[1], tuple(files[2:]))
    return specs


def _dev_agency_spec(dev_pki: signing.DevPki) -> Callable[[str], signing.SignerSpec]:
    def spec_of(agency: str) -> signing.SignerSpec:
        key_path, cert_path = dev_pki.agency_paths(agency)
        return signing.KeyFileSpec(key_path, cert_path, (dev_pki.issuing_cert_path,))

    return spec_of


def _identity_ca(settings: Settings, dev_pki: signing.DevPki | None) -> signing.IdentityCa | None:
    if settings.identity_ca_cert and settings.identity_ca_key:
        cert_path = Path(settings.identity_ca_cert)
        chain = tuple(Path(p.strip()) for p in settings.identity_ca_chain.split(",") if p.strip())
        # the certificates it issues name the CRL the vault publishes for it (B-LT embeds it; verifiers fetch it)
        urls = signing.CaUrls(crl=f"{settings.resolved_public_url}{PKI_PATH}/{IDENTITY_CRL}")
        if not settings.identity_ca_key.startswith("pkcs11:"):
            return signing.IdentityCa.from_files(cert_path, Path(settings.identity_ca_key), chain, urls)
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = _ca_key(settings.identity_ca_key, certificate, "VAULT_IDENTITY_CA_KEY")
        chain_certs = tuple(x509.load_pem_x509_certificate(p.read_bytes()) for p in chain)
        return signing.IdentityCa(certificate, key, chain_certs, urls)
    if dev_pki is not None:
        return signing.IdentityCa.from_dev_pki(dev_pki)
    return None


def _ca_key(key: str, certificate: x509.Certificate, variable: str) -> signing.CaKey:
    """A CA-style key (it signs with the certificate's key) from a PEM file or a `pkcs11:` URL."""
    if not key.startswith("pkcs11:"):
        return signing.KeyFileCaKey.load(Path(key))
    module, query, pin = _pkcs11_query(key, variable, ("key",))
    return signing.Pkcs11CaKey.open(module, query["token"], pin, query["key"], certificate)


def _own_tsa(settings: Settings) -> tuple[signing.TimestampAuthority, signing.CaKey] | None:
    """The operator-keyed timestamp authority of `VAULT_TSA_KEY` / `VAULT_TSA_CERT` (answered in-process) and
    its key."""
    if not (settings.tsa_key and settings.tsa_cert):
        return None
    certificate = x509.load_pem_x509_certificate(Path(settings.tsa_cert).read_bytes())
    try:
        usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        usage = None
    if usage is None or not usage.critical or list(usage.value) != [ExtendedKeyUsageOID.TIME_STAMPING]:
        raise ValueError("VAULT_TSA_CERT needs a critical extended key usage of timeStamping only (RFC 3161 §2.3)")
    paths = [Path(p.strip()) for p in settings.tsa_chain.split(",") if p.strip()]
    chain = [x509.load_pem_x509_certificate(path.read_bytes()) for path in paths]
    key = _ca_key(settings.tsa_key, certificate, "VAULT_TSA_KEY")
    return signing.TimestampAuthority(certificate, key, chain), key


def _own_tsa_spec(settings: Settings) -> signing.TimestampAuthoritySpec:
    """How a signing worker opens the TSA of `VAULT_TSA_KEY` (its own key file, or its own session in the token);
    `_own_tsa` has checked the settings."""
    key: Path | signing.Pkcs11Spec
    if settings.tsa_key.startswith("pkcs11:"):
        module, query, pin = _pkcs11_query(settings.tsa_key, "VAULT_TSA_KEY", ("key",))
        key = signing.Pkcs11Spec(module, query["token"], pin, query["key"])
    else:
        key = Path(settings.tsa_key)
    chain = tuple(Path(p.strip()) for p in settings.tsa_chain.split(",") if p.strip())
    return signing.TimestampAuthoritySpec(Path(settings.tsa_cert), key, chain)


def trust_roots(settings: Settings, dev_pki: signing.DevPki | None) -> list[bytes]:
    """PEM/DER trust anchors: the configured files, plus the development root in development."""
    roots = [path.read_bytes() for path in settings.trust_root_paths]
    if dev_pki is not None:
        roots.append(dev_pki.root_cert_path.read_bytes())
    return roots


def trusted_list(settings: Settings) -> signing.TrustedList | None:
    """The configured EU trusted list (`VAULT_TRUSTED_LIST`), its signature checked against
    `VAULT_TRUSTED_LIST_SIGNER` when set; an unusable list stops the start with the reason."""
    if not settings.trusted_list:
        return None
    signers = settings.trusted_list_signer_paths or None
    try:
        tl = signing.TrustedList.load(Path(settings.trusted_list), signers=signers)
    except signing.TrustedListError as exc:
        raise ConfigurationError(f"VAULT_TRUSTED_LIST ({settings.trusted_list}): {exc.detail}") from exc
    if not tl.signature_checked:
        log.warning("VAULT_TRUSTED_LIST is read without checking its signature (no VAULT_TRUSTED_LIST_SIGNER)")
    return tl


@dataclass(frozen=True)
class SigningSetup:
    """What signs and verifies; the composition root closes each part on shutdown.

    Attributes:
        service: The deployment's seal (its signer back end is `backend`).
        verifier: The verification worker pool.
        backend: The seal's signer back end (key or HSM session).
        pool: The signing worker processes: citizens' signatures, agency seals and LTA renewals are made there,
            off the event loop.
        identity: The identity signer (`None`: no identity CA configured, citizens cannot sign): it issues and
            the service logs in this process, the key signs in `pool`.
        seals: The agencies' seals.
        dev_pki: The development PKI's responders (development mode only), served under `/dev-pki/`.
        tsa_url: The external timestamp authority, or the development PKI's (`None` with neither).
        timestamper: The in-process timestamp authority (the development PKI's or `VAULT_TSA_KEY`'s), if any.
        identity_ca_key: The identity CA's key (an HSM session to close, when it is in one).
        tsa_key: The own TSA's key (likewise).
        published_crls: The CRLs served under `/pki/` (the configured identity CA's, `VAULT_PUBLISHED_CRLS`).
    """

    service: signing.PdfSigningService
    verifier: signing.VerificationPool
    backend: signing.DocumentSigner
    pool: signing.SigningPool
    identity: signing.IdentitySigner | None
    seals: AgencySealBook
    dev_pki: signing.DevPkiResponders | None
    tsa_url: str | None
    timestamper: InProcessTimeStamper | None = None
    identity_ca_key: signing.CaKey | None = None
    tsa_key: signing.CaKey | None = None
    published_crls: PublishedCrls = field(default_factory=lambda: PublishedCrls({}))

    @property
    def timestamping(self) -> bool:
        """Whether signatures can be timestamped (B-T and above, and every personal signature)."""
        return self.tsa_url is not None or self.timestamper is not None

    def close(self) -> None:
        """Close the seal's signer back end and the HSM sessions of the identity CA and the TSA (if any)."""
        self.backend.close()
        for key in (self.identity_ca_key, self.tsa_key):
            close = getattr(key, "close", None)
            if callable(close):
                close()


def build_signing(settings: Settings) -> SigningSetup:
    """The seal signer (HSM, key file, or the development PKI created on first start), the identity signer,
    the agency seals and the verifier."""
    dev_pki = responders = timestamper = local_tsa = None
    tsa_url = settings.tsa_url or None
    own_tsa = _own_tsa(settings)
    own_tsa_spec = None
    if own_tsa is not None:
        timestamper = InProcessTimeStamper(own_tsa[0].respond)
        own_tsa_spec = _own_tsa_spec(settings)  # each signing worker answers with the same key
    if settings.env == "development":
        dev_pki = signing.ensure_dev_pki(settings.resolved_data_dir / "dev-pki", base_url=settings.dev_pki_url)
        responders = signing.DevPkiResponders(dev_pki)
        if tsa_url is None and own_tsa is None:  # the service is its own TSA: answer it in-process (same token)
            tsa_url = dev_pki.tsa_url
            timestamper = InProcessTimeStamper(responders.timestamp)
            # each signing worker answers with the same TSA key (a test client has no socket to ask over HTTP)
            local_tsa = signing.TimestampAuthoritySpec(
                dev_pki.cert_path("tsa"), dev_pki.key_path("tsa"), (dev_pki.issuing_cert_path,)
            )
    if settings.signing_pkcs11:
        signer = _pkcs11_signer(settings.signing_pkcs11)
    elif settings.signing_key and settings.signing_cert:
        chain = [p.strip() for p in settings.signing_chain.split(",") if p.strip()]
        signer = signing.KeyFileSigner.load(settings.signing_key, settings.signing_cert, chain)
    elif dev_pki is not None:
        signer = dev_pki.load_signer()
    else:
        raise ValueError("no signer configured: set VAULT_SIGNING_PKCS11 or VAULT_SIGNING_KEY and VAULT_SIGNING_CERT")
    roots = trust_roots(settings, dev_pki)
    ca = _identity_ca(settings, dev_pki)
    published = _published_crls(settings, ca if settings.identity_ca_cert else None)

    def service(backend: signing.DocumentSigner | None) -> signing.PdfSigningService:
        return signing.PdfSigningService(
            backend,
            tsa_url=tsa_url,
            trust_roots=roots,
            allow_fetching=settings.signing_fetch_revocation,
            timestamper=timestamper,
            known_crls=published.ders if published.names else None,
        )

    # signing runs in worker processes too: pyHanko is CPU-bound Python that would stall the event loop
    signing_pool = signing.SigningPool(
        signing.SigningWorkerConfig(
            trust_roots=tuple(roots),
            tsa_url=tsa_url,
            timestamp_authority=own_tsa_spec or local_tsa,
            allow_fetching=settings.signing_fetch_revocation,
        ),
        workers=settings.sign_workers or None,
        max_queue=settings.sign_queue or None,
        known_crls=published.ders if published.names else None,
    )
    agency_specs = _agency_specs(settings.agency_seals)
    seals = AgencySealBook(
        {agency: spec.open_signer() for agency, spec in agency_specs.items()},
        issue=dev_pki.agency_signer if dev_pki is not None else None,
        tsa_url=tsa_url,
        timestamper=timestamper,
        trust_roots=roots,
        allow_fetching=settings.signing_fetch_revocation,
        known_crls=published.ders if published.names else None,
        pool=signing_pool,
        specs=agency_specs,
        spec_of=_dev_agency_spec(dev_pki) if dev_pki is not None else None,
    )
    verifier = signing.PdfVerifier(
        roots,
        allow_fetching=settings.verify_fetch_revocation,
        max_signatures=settings.verify_max_signatures,
        time_budget=settings.verify_time_budget,
        trusted_list=trusted_list(settings),
    )
    # verification runs in worker processes: a costly PDF cannot stall the event loop or the signers
    pool = signing.VerificationPool(
        verifier, workers=settings.verify_workers or None, queue_size=settings.verify_queue or None
    )
    return SigningSetup(
        service=service(signer),
        verifier=pool,
        backend=signer,
        pool=signing_pool,
        identity=signing.IdentitySigner(ca, signing_pool) if ca is not None else None,
        seals=seals,
        dev_pki=responders,
        tsa_url=tsa_url,
        timestamper=timestamper,
        identity_ca_key=ca.key if ca is not None else None,
        tsa_key=own_tsa[1] if own_tsa is not None else None,
        published_crls=published,
    )


def _published_crls(settings: Settings, identity_ca: signing.IdentityCa | None) -> PublishedCrls:
    """The configured identity CA's CRL (signed now, so a key that cannot sign fails the start) and the
    operator's CRL files."""
    lists: dict[str, signing.PeriodicCrl | signing.CrlFile] = {}
    if identity_ca is not None:
        lists[IDENTITY_CRL] = signing.PeriodicCrl(identity_ca.certificate, identity_ca.key)
        lists[IDENTITY_CRL].current()
    lists.update(crl_files(settings.published_crls))
    return PublishedCrls(lists)
