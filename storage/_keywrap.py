"""Canonical contexts and AES-256-GCM key wrapping (CRYPTO.md, "Key hierarchy")."""

from __future__ import annotations

import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage._errors import IntegrityError

__all__ = ("KEY_SIZE", "WRAP_VERSION", "canonical_context", "generate_key", "unwrap_key", "wrap_key")

KEY_SIZE = 32
WRAP_VERSION = 1
_NONCE_SIZE = 12
_TAG_SIZE = 16
_WRAPPED_SIZE = 1 + _NONCE_SIZE + KEY_SIZE + _TAG_SIZE
_MAX_FIELD = 0xFFFF


def _field(value: str) -> bytes:
    raw = value.encode("utf-8")
    if len(raw) > _MAX_FIELD:
        raise ValueError("context field longer than 65535 bytes")
    return len(raw).to_bytes(2, "big") + raw


def canonical_context(domain: str, pairs: Sequence[tuple[str, str]]) -> bytes:
    """Encode a context as the AAD that binds a key or object to its place.

    The encoding is ``field(domain)`` followed by ``field(name) ‖ field(value)`` per pair, in the given order,
    where ``field(s) = u16be(len(utf8(s))) ‖ utf8(s)``. Length prefixes make it injective: no two different
    lists encode to the same bytes.

    Args:
        domain: What the context is for, e.g. ``"citizen-vault/dek/v1"``.
        pairs: Ordered ``(name, value)`` pairs holding opaque ids only (no names or personal data).

    Returns:
        The encoded context.

    Raises:
        ValueError: If the domain is empty or a field is longer than 65535 bytes.
    """
    if not domain:
        raise ValueError("context domain must not be empty")
    parts = [_field(domain)]
    for name, value in pairs:
        parts.append(_field(name))
        parts.append(_field(value))
    return b"".join(parts)


def generate_key() -> bytes:
    """Return a fresh random 256-bit key."""
    return os.urandom(KEY_SIZE)


def _check_key(key: bytes, what: str) -> None:
    if len(key) != KEY_SIZE:
        raise ValueError(f"{what} must be {KEY_SIZE} bytes")


def wrap_key(wrapping_key: bytes, key: bytes, context: bytes) -> bytes:
    """Wrap a 256-bit key with AES-256-GCM under ``wrapping_key``, bound to ``context``.

    Args:
        wrapping_key: The 32-byte key-encryption key.
        key: The 32-byte key to protect.
        context: Canonical context used as AAD; unwrapping needs the same bytes.

    Returns:
        ``version byte (1) ‖ nonce (12) ‖ ciphertext+tag (48)``, 61 bytes.
    """
    _check_key(wrapping_key, "wrapping key")
    _check_key(key, "key")
    nonce = os.urandom(_NONCE_SIZE)
    return bytes([WRAP_VERSION]) + nonce + AESGCM(wrapping_key).encrypt(nonce, key, context)


def unwrap_key(wrapping_key: bytes, wrapped: bytes, context: bytes) -> bytes:
    """Recover a key wrapped by :func:`wrap_key`.

    Args:
        wrapping_key: The 32-byte key-encryption key it was wrapped with.
        wrapped: The wrapped blob.
        context: The canonical context it was wrapped for.

    Returns:
        The 32-byte key.

    Raises:
        IntegrityError: On a wrong version byte, wrong size, wrong key, wrong context or any tampering.
    """
    _check_key(wrapping_key, "wrapping key")
    if len(wrapped) != _WRAPPED_SIZE or wrapped[0] != WRAP_VERSION:
        raise IntegrityError("wrapped key is malformed")
    nonce, sealed = wrapped[1 : 1 + _NONCE_SIZE], wrapped[1 + _NONCE_SIZE :]
    try:
        return AESGCM(wrapping_key).decrypt(nonce, sealed, context)
    except InvalidTag as exc:
        raise IntegrityError("wrapped key failed authentication") from exc
