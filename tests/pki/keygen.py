"""Generate the test PKI's private keys (fresh per test session; nothing secret is committed)."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

__all__ = ("EC_KEYS", "KEY_NAMES", "generate_keys")

KEY_NAMES = (
    "root",
    "interm",
    "interm-ocsp",
    "tsa",
    "citizen",
    "agency",
    "revoked",
    "expired",
    "rogue-root",
    "rogue",
)
EC_KEYS = frozenset({"agency"})  # the agency seal uses ECDSA P-256, everything else RSA-2048


def generate_keys(key_dir: Path) -> None:
    """Write one unencrypted PKCS#8 PEM key per entity into `key_dir` (mode 0600)."""
    key_dir.mkdir(parents=True, exist_ok=True)
    for name in KEY_NAMES:
        key = ec.generate_private_key(ec.SECP256R1()) if name in EC_KEYS else rsa.generate_private_key(65537, 2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path = key_dir / f"{name}.key.pem"
        path.write_bytes(pem)
        path.chmod(0o600)
