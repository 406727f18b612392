"""One-shot set-up for compose.yaml: a private CA, Keycloak's TLS certificate, the vault's seal, the identity CA
for citizens' signatures, a timestamp authority's certificate, a CA bundle.

Runs inside the vault image (it needs only `cryptography` and `certifi`, both installed there) as
``python /deploy/init_pki.py /run/vault-pki``. Files that exist are kept, so an operator who puts the trust
service provider's seal (`seal.key`, `seal.pem`, `trust-roots.pem`), identity CA, TSA certificate or a real TLS
certificate there first gets those used instead. Run as root, it hands each private key to the one account that
reads it.

Written files (in the target directory):
    ca.pem, ca.key          the compose deployment's private CA (ten years)
    keycloak.crt/.key       TLS for https://keycloak:8443 (and localhost), signed by the CA
    seal.pem, seal.key      the vault's seal (document signing), signed by the CA
    identity-ca.pem/.key    the CA that issues each citizen's ten-minute signing certificate (VAULT_IDENTITY_CA_*):
                            a root of its own (ten years), so its key mints nothing the compose CA vouches for
    tsa.pem, tsa.key        the vault's own RFC 3161 timestamp authority (VAULT_TSA_KEY/CERT; five years, critical
                            timeStamping extended key usage), signed by the CA
    compose-ca.crl          the CA's revocation list (DER, a year; rewritten when under 90 days remain), which the
                            vault publishes at <VAULT_PUBLIC_URL>/pki/compose-ca.crl (VAULT_PUBLISHED_CRLS) and
                            embeds in B-LT signatures: the TSA's and the seal's certificates name that URL. A TSA or
                            seal certificate this CA issued without that URL (an older volume, another public URL)
                            is issued again for the same key.
    trust-roots.pem         what the vault trusts when verifying signatures (the CA and the identity CA; a new
                            identity CA is appended to an existing file)
    ca-bundle.pem           the public web roots plus the CA: the vault's SSL_CERT_FILE, so it trusts Keycloak
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import sys
from pathlib import Path

import certifi
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ("CRL_NAME", "KEYCLOAK_UID", "VAULT_UID", "main", "write_material")

VAULT_UID = 10001  # the Dockerfile's `vault` user
KEYCLOAK_UID = 1000  # the Keycloak image's user
_TLS_NAMES = ("keycloak", "localhost")
CRL_NAME = "compose-ca.crl"
_CRL_VALIDITY = datetime.timedelta(days=365)
_CRL_RENEWAL = datetime.timedelta(days=90)


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Citizen Vault (compose)"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])  # fmt: skip


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey, owner: int | None) -> None:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)
    if owner is not None:
        os.chown(path, owner, 0)


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise SystemExit(f"{path}: expected an EC private key")
    return key


def _issue(
    subject: str, key: ec.EllipticCurvePrivateKey, ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    extensions: list[tuple[x509.ExtensionType, bool]], days: int,
) -> x509.Certificate:  # fmt: skip
    now = datetime.datetime.now(datetime.UTC)
    issuer_name, signing_key = (ca[0].subject, ca[1]) if ca else (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if ca:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca[1].public_key()), critical=False
        )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(signing_key, hashes.SHA256())


def _usage(**flags: bool) -> x509.KeyUsage:
    names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement",
             "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")  # fmt: skip
    return x509.KeyUsage(**{name: flags.get(name, False) for name in names})


def _ca(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert_path, key_path = directory / "ca.pem", directory / "ca.key"
    if cert_path.exists() and key_path.exists():
        return x509.load_pem_x509_certificate(cert_path.read_bytes()), _load_key(key_path)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _issue("Citizen Vault compose CA", key, None, [
        (x509.BasicConstraints(ca=True, path_length=0), True),
        (_usage(key_cert_sign=True, crl_sign=True), True),
    ], days=3650)  # fmt: skip
    _write_key(key_path, key, None)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _crl_points(crl_url: str | None) -> list[tuple[x509.ExtensionType, bool]]:
    if crl_url is None:
        return []
    point = x509.DistributionPoint([x509.UniformResourceIdentifier(crl_url)], None, None, None)
    return [(x509.CRLDistributionPoints([point]), False)]


def _timestamp_authority(
    directory: Path, ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey], owners: bool, crl_url: str | None
) -> list[str]:
    if (directory / "tsa.pem").exists():
        return []
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _issue("Citizen Vault time stamping authority", key, ca, [
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (_usage(digital_signature=True), True),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), True),  # RFC 3161 §2.3: critical, only this
        *_crl_points(crl_url),
    ], days=5 * 365)  # fmt: skip
    _write_key(directory / "tsa.key", key, VAULT_UID if owners else None)
    (directory / "tsa.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return ["tsa.pem", "tsa.key"]


def _identity_ca(directory: Path, owners: bool) -> bytes | None:
    """Write the identity CA when it is missing; its certificate (PEM) when written now, else ``None``."""
    if (directory / "identity-ca.pem").exists():
        return None
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _issue("Citizen Vault identity CA", key, None, [
        (x509.BasicConstraints(ca=True, path_length=0), True),
        (_usage(key_cert_sign=True, crl_sign=True), True),
    ], days=3650)  # fmt: skip
    _write_key(directory / "identity-ca.key", key, VAULT_UID if owners else None)
    pem = cert.public_bytes(serialization.Encoding.PEM)
    (directory / "identity-ca.pem").write_bytes(pem)
    return pem


def _points_to(cert: x509.Certificate, crl_url: str) -> bool:
    try:
        points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return False
    return [name.value for point in points for name in point.full_name or ()] == [crl_url]


def _reissue_with_crl(
    path: Path, ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey], crl_url: str | None
) -> list[str]:
    """Issue `path` again, for the same key and validity, naming `crl_url`, when this CA issued it without."""
    if crl_url is None or not path.exists():
        return []
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    try:
        cert.verify_directly_issued_by(ca[0])
    except (ValueError, TypeError, InvalidSignature):
        return []  # the operator's own certificate: theirs to keep
    if _points_to(cert, crl_url):
        return []
    builder = (
        x509.CertificateBuilder()
        .subject_name(cert.subject)
        .issuer_name(cert.issuer)
        .public_key(cert.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(cert.not_valid_before_utc)
        .not_valid_after(cert.not_valid_after_utc)
    )
    for extension in cert.extensions:
        if not isinstance(extension.value, x509.CRLDistributionPoints):
            builder = builder.add_extension(extension.value, critical=extension.critical)
    for extension_type, critical in _crl_points(crl_url):
        builder = builder.add_extension(extension_type, critical=critical)
    path.write_bytes(builder.sign(ca[1], hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
    return [path.name]


def _revocation_list(directory: Path, ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey]) -> list[str]:
    """Write the CA's (empty) CRL when it is missing, not the CA's, or has under 90 days left."""
    path, now = directory / CRL_NAME, datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    if path.exists():
        try:
            current = x509.load_der_x509_crl(path.read_bytes())
            valid = current.is_signature_valid(ca[1].public_key())
        except ValueError:
            valid = False
        if valid and (current.next_update_utc or now) - now > _CRL_RENEWAL:
            return []
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca[0].subject)
        .last_update(now)
        .next_update(now + _CRL_VALIDITY)
        .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca[1].public_key()), critical=False)
    )
    path.write_bytes(builder.sign(ca[1], hashes.SHA256()).public_bytes(serialization.Encoding.DER))
    return [CRL_NAME]


def write_material(directory: Path, *, owners: bool = False, public_url: str | None = None) -> list[str]:
    """Create whatever of the compose PKI is missing in `directory`; keep what exists.

    Args:
        directory: Where the files go (created 0755: it holds certificates for several services).
        owners: Hand `keycloak.key` to Keycloak's user and `seal.key`, `identity-ca.key` and `tsa.key` to the
            vault's (needs root).
        public_url: The vault's public URL: the TSA's and the seal's certificates name
            ``<public_url>/pki/compose-ca.crl`` as their CRL (``None``: no CRL location).

    Returns:
        The names of the files written.
    """
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)
    crl_url = f"{public_url.rstrip('/')}/pki/{CRL_NAME}" if public_url else None
    written: list[str] = []
    if not (directory / "ca.pem").exists():
        written += ["ca.pem", "ca.key"]
    ca = _ca(directory)
    if not (directory / "keycloak.crt").exists():
        key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = [x509.DNSName(name) for name in _TLS_NAMES]
        names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
        cert = _issue("keycloak", key, ca, [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (_usage(digital_signature=True), True),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
            (x509.SubjectAlternativeName(names), False),
        ], days=397)  # fmt: skip
        _write_key(directory / "keycloak.key", key, KEYCLOAK_UID if owners else None)
        (directory / "keycloak.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        written += ["keycloak.crt", "keycloak.key"]
    if not (directory / "seal.pem").exists():
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _issue("Citizen Vault seal", key, ca, [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (_usage(digital_signature=True, content_commitment=True), True),
            *_crl_points(crl_url),
        ], days=825)  # fmt: skip
        _write_key(directory / "seal.key", key, VAULT_UID if owners else None)
        (directory / "seal.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        written += ["seal.pem", "seal.key"]
    written += _timestamp_authority(directory, ca, owners, crl_url)
    for name in ("tsa.pem", "seal.pem"):
        written += _reissue_with_crl(directory / name, ca, crl_url)
    written += _revocation_list(directory, ca)
    identity = _identity_ca(directory, owners)
    written += ["identity-ca.pem", "identity-ca.key"] if identity else []
    ca_pem = ca[0].public_bytes(serialization.Encoding.PEM)
    roots = directory / "trust-roots.pem"
    if not roots.exists():
        roots.write_bytes(ca_pem + (directory / "identity-ca.pem").read_bytes())
        written.append("trust-roots.pem")
    elif identity:  # the operator's own roots, and the identity CA just made: its signatures must verify too
        roots.write_bytes(roots.read_bytes().rstrip(b"\n") + b"\n" + identity)
        written.append("trust-roots.pem")
    # rewritten every run: the public roots come from the image's certifi, which an image update refreshes
    (directory / "ca-bundle.pem").write_bytes(Path(certifi.where()).read_bytes().rstrip(b"\n") + b"\n" + ca_pem)
    written.append("ca-bundle.pem")
    public = ("ca.pem", "keycloak.crt", "seal.pem", "identity-ca.pem", "tsa.pem", "trust-roots.pem", "ca-bundle.pem",
              CRL_NAME)  # fmt: skip
    for name in public:
        (directory / name).chmod(0o644)
    return written


def main(argv: list[str]) -> int:
    """`init_pki.py DIRECTORY`: write the missing files and say which (`VAULT_PUBLIC_URL`: the vault's URL, where
    it publishes the CA's CRL)."""
    if len(argv) != 1:
        print("usage: init_pki.py DIRECTORY", file=sys.stderr)
        return 2
    public_url = os.environ.get("VAULT_PUBLIC_URL") or None
    written = write_material(Path(argv[0]), owners=os.geteuid() == 0, public_url=public_url)
    print("compose PKI: wrote " + ", ".join(written))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
