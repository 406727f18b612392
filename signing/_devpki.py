"""The embedded development PKI: a root, an issuing CA, an identity CA, a TSA, the service seal and agency seals.

It keeps every CA key (mode 0600, under its directory), so it can do what a production PKI does: issue, revoke,
answer OCSP, publish CRLs and timestamp (see :class:`DevPkiResponders`). Given a base URL, its certificates point
relying parties at ``<base_url>/ocsp/<ca>``, ``<base_url>/crl/<ca>.crl`` and ``<base_url>/ca/<ca>.cer``; when the
base URL changes (another port), every certificate but the root is re-issued for the same keys, so earlier
signatures stay valid. Without a base URL the certificates name no revocation service (offline use).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ._ca import KeyFileCaKey, write_private_file
from ._certs import load_certificate_file
from ._issuance import CaUrls, Profile, issue, name
from ._signers import KeyFileSigner

__all__ = ("DevPki", "ensure_dev_pki")

_ORG = "Citizen Vault (development only)"
_MANIFEST, _REVOKED, _AGENCIES = "pki.json", "revoked.json", "agencies"
# 3: the CAs under the root name no OCSP responder (only the root's CRL); an older PKI is re-issued on start
_VERSION = 3
# name -> (issuer name, profile, validity in days)
_CAS = {
    "root": (None, Profile.ROOT, 25 * 365),
    "issuing": ("root", Profile.CA, 10 * 365),
    "identity": ("root", Profile.CA, 10 * 365),
}
_LEAVES = {"tsa": ("issuing", Profile.TSA, 5 * 365), "seal": ("issuing", Profile.SEAL, 3 * 365)}
_CA_FILES = {"root": "root-ca", "issuing": "issuing-ca", "identity": "identity-ca", "tsa": "tsa", "seal": "seal"}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclass(frozen=True)
class DevPki:
    """The development PKI in one directory.

    Attributes:
        directory: Where the files live (keys 0600, certificates PEM, ``pki.json``, ``revoked.json``).
    """

    directory: Path

    def cert_path(self, entity: str) -> Path:
        """PEM certificate of ``root``, ``issuing``, ``identity``, ``tsa`` or ``seal``."""
        return self.directory / f"{_CA_FILES[entity]}.cert.pem"

    def key_path(self, entity: str) -> Path:
        """PEM private key (0600) of ``root``, ``issuing``, ``identity``, ``tsa`` or ``seal``."""
        return self.directory / f"{_CA_FILES[entity]}.key.pem"

    @property
    def root_cert_path(self) -> Path:
        """The root CA certificate (the trust anchor to verify against)."""
        return self.cert_path("root")

    @property
    def issuing_cert_path(self) -> Path:
        """The issuing CA certificate (embedded in seal signatures)."""
        return self.cert_path("issuing")

    @property
    def seal_cert_path(self) -> Path:
        """The service seal certificate."""
        return self.cert_path("seal")

    @property
    def seal_key_path(self) -> Path:
        """The service seal's private key (mode 0600)."""
        return self.key_path("seal")

    @property
    def base_url(self) -> str | None:
        """The URL prefix of the certificates' OCSP, CRL and CA-issuer locations (``None``: none are named)."""
        value = json.loads((self.directory / _MANIFEST).read_text())["base_url"]
        return None if value is None else str(value)

    @property
    def version(self) -> int:
        """The layout version the certificates were issued under (see ``_VERSION``)."""
        return int(json.loads((self.directory / _MANIFEST).read_text()).get("version", 1))

    @property
    def tsa_url(self) -> str | None:
        """The RFC 3161 endpoint (served by :class:`DevPkiResponders` under the base URL), if there is one."""
        return None if self.base_url is None else f"{self.base_url}/tsa"

    def certificate(self, entity: str) -> x509.Certificate:
        """A certificate of the PKI as a cryptography object."""
        return x509.load_pem_x509_certificate(self.cert_path(entity).read_bytes())

    def ca_key(self, entity: str) -> KeyFileCaKey:
        """The private key of ``root``, ``issuing``, ``identity`` or ``tsa``."""
        return KeyFileCaKey.load(self.key_path(entity))

    def urls(self, ca: str) -> CaUrls:
        """The AIA and CRL locations written into certificates that `ca` issues."""
        return _urls(self.base_url, ca)

    def load_signer(self) -> KeyFileSigner:
        """A signer for the service seal."""
        return KeyFileSigner.load(self.seal_key_path, self.seal_cert_path, chain_paths=(self.issuing_cert_path,))

    def trust_roots(self) -> tuple[asn1_x509.Certificate, ...]:
        """The trust anchors for documents signed under this PKI."""
        return (load_certificate_file(self.root_cert_path),)

    # Agency seals ------------------------------------------------------------------------------------------

    def agency_paths(self, agency: str) -> tuple[Path, Path]:
        """The key and certificate files of an agency's seal (they may not exist yet)."""
        slug = _slug(agency)
        return self.directory / _AGENCIES / f"{slug}.key.pem", self.directory / _AGENCIES / f"{slug}.cert.pem"

    def agency_signer(self, agency: str) -> KeyFileSigner:
        """The seal of `agency` (its own key and certificate, issued by the issuing CA on first use)."""
        key_path, cert_path = self.agency_paths(agency)
        if not cert_path.exists():
            cert_path.parent.mkdir(mode=0o700, exist_ok=True)
            with contextlib.suppress(FileExistsError):  # another process created the key first: use theirs
                KeyFileCaKey(ec.generate_private_key(ec.SECP256R1())).save(key_path)
            public = KeyFileCaKey.load(key_path).public_key()
            assert isinstance(public, ec.EllipticCurvePublicKey)
            # Two processes may both issue here: either certificate is valid for the one key.
            _replace(cert_path, self._issue_leaf(agency, public, self.base_url))
        return KeyFileSigner.load(key_path, cert_path, chain_paths=(self.issuing_cert_path,))

    def _issue_leaf(self, common_name: str, public_key: ec.EllipticCurvePublicKey, base_url: str | None) -> bytes:
        now = _now()
        cert = issue(
            subject=name(common_name, _ORG),
            public_key=public_key,
            issuer=self.certificate("issuing").subject,
            issuer_key=self.ca_key("issuing"),
            profile=Profile.SEAL,
            not_before=now - dt.timedelta(minutes=5),
            not_after=now + dt.timedelta(days=3 * 365),
            urls=_urls(base_url, "issuing"),
        )
        return cert.public_bytes(serialization.Encoding.PEM)

    # Revocation ---------------------------------------------------------------------------------------------

    def revoke(self, certificate: x509.Certificate, when: dt.datetime | None = None) -> None:
        """Record `certificate` as revoked by its issuer (one of this PKI's CAs): OCSP and CRLs say so at once."""
        issuer = next((ca for ca in _CAS if self.certificate(ca).subject == certificate.issuer), None)
        if issuer is None:
            raise ValueError("the certificate was not issued by this development PKI")
        entries = self.revoked()
        entries.setdefault(issuer, {})[certificate.serial_number] = (when or _now()).replace(microsecond=0)
        data = {ca: {str(s): t.isoformat() for s, t in serials.items()} for ca, serials in entries.items()}
        _replace(self.directory / _REVOKED, json.dumps(data, indent=1).encode())

    def revoked(self) -> dict[str, dict[int, dt.datetime]]:
        """Revoked serial numbers and times, by issuing CA name."""
        path = self.directory / _REVOKED
        if not path.exists():
            return {}
        data = json.loads(path.read_text())
        return {ca: {int(s): dt.datetime.fromisoformat(t) for s, t in serials.items()} for ca, serials in data.items()}


def _urls(base: str | None, ca: str) -> CaUrls:
    if base is None:
        return CaUrls()
    # The root names only its CRL in the CAs it issues (a root's key is offline in a real PKI: it publishes an
    # authority revocation list, not an OCSP service). pyHanko's long-term validation cannot use an OCSP response
    # signed by a trust anchor itself: its time-slide asks for revocation data on the root and answers NO_POE.
    ocsp = None if ca == "root" else f"{base}/ocsp/{ca}"
    return CaUrls(ca_issuers=f"{base}/ca/{ca}.cer", ocsp=ocsp, crl=f"{base}/crl/{ca}.crl")


def _slug(agency: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", agency.lower()).strip("-")
    if not slug:
        raise ValueError("an agency needs a name with letters or digits")
    return slug


def _replace(path: Path, data: bytes) -> None:
    # Owner-only like everything in the service's data directory (certificates are public, but need not be shared).
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    write_private_file(tmp, data)
    os.replace(tmp, path)


def _issue_all(pki: DevPki, common_name: str, base_url: str | None) -> None:
    """Issue every certificate for the keys in the directory (creating missing keys) under `base_url`, then
    record the URL in the manifest (last: the manifest marks the PKI complete)."""
    keys = {}
    for entity in (*_CAS, *_LEAVES):
        if not pki.key_path(entity).exists():
            KeyFileCaKey(ec.generate_private_key(ec.SECP256R1())).save(pki.key_path(entity))
        keys[entity] = pki.ca_key(entity)
    names = {
        "root": f"{common_name} Root CA",
        "issuing": f"{common_name} Issuing CA",
        "identity": f"{common_name} Identity CA",
        "tsa": f"{common_name} Time Stamping Authority",
        "seal": common_name,
    }
    root_cert = pki.cert_path("root")
    if not root_cert.exists():
        _replace(root_cert, _pem(_cert_for(base_url, "root", names, keys, None)))
    for entity, (issuer, _, _) in (*_CAS.items(), *_LEAVES.items()):
        if issuer is not None:
            _replace(pki.cert_path(entity), _pem(_cert_for(base_url, entity, names, keys, issuer)))
    agencies = pki.directory / _AGENCIES
    for cert_path in sorted(agencies.glob("*.cert.pem")) if agencies.exists() else ():
        old = x509.load_pem_x509_certificate(cert_path.read_bytes())
        common = old.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
        public = old.public_key()
        assert isinstance(public, ec.EllipticCurvePublicKey)
        _replace(cert_path, pki._issue_leaf(str(common), public, base_url))
    _replace(pki.directory / _MANIFEST, json.dumps({"version": _VERSION, "base_url": base_url}).encode())


def _cert_for(
    base_url: str | None, entity: str, names: dict[str, str], keys: dict[str, KeyFileCaKey], issuer: str | None
) -> x509.Certificate:
    now = _now()
    profile, days = ({**_CAS, **_LEAVES})[entity][1:]
    public = keys[entity].public_key()
    return issue(
        subject=name(names[entity], _ORG),
        public_key=public,
        issuer=name(names[issuer], _ORG) if issuer else name(names[entity], _ORG),
        issuer_key=keys[issuer or entity],
        profile=profile,
        not_before=now - dt.timedelta(minutes=5),
        not_after=now + dt.timedelta(days=days),
        urls=_urls(base_url, issuer) if issuer else CaUrls(),
    )


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def ensure_dev_pki(
    directory: Path, common_name: str = "Citizen Vault Development Seal", base_url: str | None = None
) -> DevPki:
    """Create the development PKI in `directory` on first use, reuse it afterwards.

    Creation happens in a temporary sibling directory renamed into place, so concurrent first starts end with one
    complete PKI. A PKI from an earlier version (without CA keys) is moved aside to ``<directory>.legacy-<time>``.

    Args:
        directory: The PKI's directory (created; its parent must be writable).
        common_name: The seal certificate's common name (the other names derive from it).
        base_url: Where the responders are served, for example ``<public URL>/dev-pki``; ``None`` keeps the
            existing PKI's URL (a new PKI then names no revocation service or TSA). A different URL, or a PKI
            issued under an older layout, re-issues every certificate except the root, for the same keys.

    Returns:
        The PKI.
    """
    pki = DevPki(directory)
    if (directory / _MANIFEST).exists():
        wanted = pki.base_url if base_url is None else base_url.rstrip("/")
        if wanted != pki.base_url or pki.version < _VERSION:
            _issue_all(pki, _common_name_of(pki), wanted)
        return pki
    if pki.seal_cert_path.exists():  # the first development PKI threw its CA keys away: keep it for reference
        os.rename(directory, directory.with_name(f"{directory.name}.legacy-{int(time.time())}"))
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = directory.parent / f".{directory.name}.{uuid.uuid4().hex}.tmp"
    tmp.mkdir(mode=0o700)
    try:
        _issue_all(DevPki(tmp), common_name, base_url.rstrip("/") if base_url else None)
        with contextlib.suppress(FileNotFoundError):
            directory.rmdir()  # an empty placeholder directory; a non-empty one makes the rename fail
        os.rename(tmp, directory)
    except OSError:
        if not (directory / _MANIFEST).exists():  # not a lost race with another process: a real failure
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return pki


def _common_name_of(pki: DevPki) -> str:
    attrs = pki.certificate("seal").subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(attrs[0].value)
