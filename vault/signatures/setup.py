"""Building the signer and verifier from settings: a key file, an HSM (PKCS#11), or the development PKI."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import signing
from vault.settings import Settings

__all__ = ("SigningSetup", "build_signing", "trust_roots")


def _pkcs11_signer(url: str) -> signing.DocumentSigner:
    """`pkcs11:<module path>?token=LABEL&pin-env=VAR&key=LABEL[&cert=LABEL][&chain=/a.pem,/b.pem]`."""
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    module = unquote(parts.path)
    missing = [name for name in ("token", "pin-env", "key") if name not in query]
    if missing or not module:
        raise ValueError(f"VAULT_SIGNING_PKCS11 needs a module path and {', '.join(missing) or 'nothing else'}")
    pin = os.environ.get(query["pin-env"])
    if pin is None:
        raise ValueError(f"the PIN variable {query['pin-env']} named by VAULT_SIGNING_PKCS11 is not set")
    chain = [Path(p).read_bytes() for p in query.get("chain", "").split(",") if p]
    return signing.Pkcs11Signer.open(
        module, query["token"], pin, query["key"], cert_label=query.get("cert"), chain=chain
    )


def trust_roots(settings: Settings, dev_pki: signing.DevPki | None) -> list[bytes]:
    """PEM/DER trust anchors: the configured files, plus the development root in development."""
    roots = [path.read_bytes() for path in settings.trust_root_paths]
    if dev_pki is not None:
        roots.append(dev_pki.root_cert_path.read_bytes())
    return roots


@dataclass(frozen=True)
class SigningSetup:
    """The signing service, the verifier, and the signer back end (whose key or HSM session the caller closes)."""

    service: signing.PdfSigningService
    verifier: signing.VerificationPool
    backend: signing.DocumentSigner


def build_signing(settings: Settings) -> SigningSetup:
    """The seal signer (HSM, key file, or the development PKI created on first start) and the verifier."""
    dev_pki = None
    if settings.env == "development":
        dev_pki = signing.ensure_dev_pki(settings.resolved_data_dir / "dev-pki")
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
    signer_service = signing.PdfSigningService(
        signer,
        tsa_url=settings.tsa_url or None,
        trust_roots=roots,
        allow_fetching=settings.signing_fetch_revocation,
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
    return SigningSetup(signer_service, pool, signer)
