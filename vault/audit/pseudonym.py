"""Owner pseudonyms for audit entries: linkable while the owner's subject key exists, unlinkable after."""

from __future__ import annotations

import hashlib
import hmac
from uuid import UUID

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ("derive_pseudonym_key", "owner_pseudonym")

_INFO = b"citizen-vault/audit/owner-pseudonym/v1"


def derive_pseudonym_key(subject_key: bytes) -> bytes:
    """Derive the owner's pseudonym key from their subject key (HKDF-SHA-256, own domain string).

    Args:
        subject_key: the owner's 32-byte subject key (plaintext, unwrapped by the caller).
    """
    if len(subject_key) < 32:
        raise ValueError("a subject key has at least 32 bytes")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(subject_key)


def owner_pseudonym(owner_key: bytes, owner_id: UUID) -> str:
    """The pseudonym of an owner in the audit log: hex HMAC-SHA-256 of the owner id under the pseudonym key.

    Erasing the subject key (and so this key) leaves the pseudonym in the log but nobody can link it to the
    owner any more; the log stays verifiable because the pseudonym is just part of the leaf bytes.
    """
    return hmac.new(owner_key, owner_id.bytes, hashlib.sha256).hexdigest()
