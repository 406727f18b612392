"""Building the signers and the verifier from settings: key files, an HSM (PKCS#11), or the development PKI.

Three signers: the deployment's seal (the service's own documents), the identity CA (a ten-minute certificate
naming the citizen, per signature) and each agency's own seal. In development the development PKI provides all
three, and its TSA, OCSP responders and CRLs are served by the service under `/dev-pki/`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography import x509

import signing
from vault.settings import Settings
from vault.signatures.devpki import InProcessTimeStamper
from vault.signatures.seals import AgencySealBook

__all__ = ("SigningSetup", "build_signing", "trust_roots")


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
        if not settings.identity_ca_key.startswith("pkcs11:"):
            return signing.IdentityCa.from_files(cert_path, Path(settings.identity_ca_key), chain)
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
        module, query, pin = _pkcs11_query(settings.identity_ca_key, "VAULT_IDENTITY_CA_KEY", ("key",))
        key = signing.Pkcs11CaKey.open(module, query["token"], pin, query["key"], certificate)
        chain_certs = tuple(x509.load_pem_x509_certificate(p.read_bytes()) for p in chain)
        return signing.IdentityCa(certificate, key, chain_certs)
    if dev_pki is not None:
        return signing.IdentityCa.from_dev_pki(dev_pki)
    return None


def trust_roots(settings: Settings, dev_pki: signing.DevPki | None) -> list[bytes]:
    """PEM/DER trust anchors: the configured files, plus the development root in development."""
    roots = [path.read_bytes() for path in settings.trust_root_paths]
    if dev_pki is not None:
        roots.append(dev_pki.root_cert_path.read_bytes())
    return roots


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
        tsa_url: The timestamp authority (`None`: none; signatures are B-B).
        identity_ca_key: The identity CA's key (an HSM session to close, when it is in one).
    """

    service: signing.PdfSigningService
    verifier: signing.VerificationPool
    backend: signing.DocumentSigner
    pool: signing.SigningPool
    identity: signing.IdentitySigner | None
    seals: AgencySealBook
    dev_pki: signing.DevPkiResponders | None
    tsa_url: str | None
    identity_ca_key: signing.CaKey | None = None

    def close(self) -> None:
        """Close the seal's signer back end and the identity CA's HSM session (if any)."""
        self.backend.close()
        close_ca = getattr(self.identity_ca_key, "close", None)
        if callable(close_ca):
            close_ca()


def build_signing(settings: Settings) -> SigningSetup:
    """The seal signer (HSM, key file, or the development PKI created on first start), the identity signer,
    the agency seals and the verifier."""
    dev_pki = responders = timestamper = local_tsa = None
    tsa_url = settings.tsa_url or None
    if settings.env == "development":
        dev_pki = signing.ensure_dev_pki(settings.resolved_data_dir / "dev-pki", base_url=settings.dev_pki_url)
        responders = signing.DevPkiResponders(dev_pki)
        if tsa_url is None:  # the service is its own TSA: answer it in-process (same token as over HTTP)
            tsa_url = dev_pki.tsa_url
            timestamper = InProcessTimeStamper(responders)
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

    def service(backend: signing.DocumentSigner | None) -> signing.PdfSigningService:
        return signing.PdfSigningService(
            backend,
            tsa_url=tsa_url,
            trust_roots=roots,
            allow_fetching=settings.signing_fetch_revocation,
            timestamper=timestamper,
        )

    ca = _identity_ca(settings, dev_pki)
    # signing runs in worker processes too: pyHanko is CPU-bound Python that would stall the event loop
    signing_pool = signing.SigningPool(
        signing.SigningWorkerConfig(
            trust_roots=tuple(roots),
            tsa_url=tsa_url,
            timestamp_authority=local_tsa,
            allow_fetching=settings.signing_fetch_revocation,
        ),
        workers=settings.sign_workers or None,
        max_queue=settings.sign_queue or None,
    )
    agency_specs = _agency_specs(settings.agency_seals)
    seals = AgencySealBook(
        {agency: spec.open_signer() for agency, spec in agency_specs.items()},
        issue=dev_pki.agency_signer if dev_pki is not None else None,
        tsa_url=tsa_url,
        timestamper=timestamper,
        trust_roots=roots,
        allow_fetching=settings.signing_fetch_revocation,
        pool=signing_pool,
        specs=agency_specs,
        spec_of=_dev_agency_spec(dev_pki) if dev_pki is not None else None,
    )
    verifier = signing.PdfVerifier(
        roots,
        allow_fetching=settings.verify_fetch_revocation,
        max_signatures=settings.verify_max_signatures,
        time_budget=settings.verify_time_budget,
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
        identity_ca_key=ca.key if ca is not None else None,
    )
