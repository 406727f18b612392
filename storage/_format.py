"""Encrypted object format, suite 1 (CRYPTO.md): a 64-byte header, then AES-256-GCM sealed 64 KiB chunks."""

from __future__ import annotations

import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA512
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from storage._errors import IntegrityError

__all__ = (
    "CHUNK_SIZE",
    "HEADER_SIZE",
    "SEALED_CHUNK_SIZE",
    "TAG_SIZE",
    "ObjectDecryptor",
    "ObjectEncryptor",
    "chunk_count",
    "chunk_offset",
    "decrypt_object",
    "encrypt_object",
    "encrypted_size",
    "sealed_chunk_size",
)

MAGIC = b"CVLT"
FORMAT_VERSION = 1
SUITE = 1
CHUNK_SIZE = 65536
TAG_SIZE = 16
SEALED_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE
HEADER_SIZE = 64
SALT_SIZE = 24
_PREFIX = MAGIC + bytes([FORMAT_VERSION, SUITE, 0, 0])
_INFO_LABEL = b"citizen-vault/object/v1"
_KEY, _NONCE, _COMMIT = 32, 12, 32


def encrypted_size(plaintext_size: int) -> int:
    """Size of the stored object for a plaintext of ``plaintext_size`` bytes: ``64 + P + 16 * (P // 65536 + 1)``."""
    if plaintext_size < 0:
        raise ValueError("plaintext size must not be negative")
    return HEADER_SIZE + plaintext_size + TAG_SIZE * chunk_count(plaintext_size)


def chunk_count(plaintext_size: int) -> int:
    """Number of chunks, the final (possibly empty) one included."""
    return plaintext_size // CHUNK_SIZE + 1


def chunk_offset(index: int) -> int:
    """Object offset where sealed chunk ``index`` starts."""
    return HEADER_SIZE + index * SEALED_CHUNK_SIZE


def sealed_chunk_size(plaintext_size: int, index: int) -> int:
    """Sealed size of chunk ``index`` of a plaintext of ``plaintext_size`` bytes."""
    last = chunk_count(plaintext_size) - 1
    if not 0 <= index <= last:
        raise ValueError("chunk index out of range")
    return SEALED_CHUNK_SIZE if index < last else plaintext_size % CHUNK_SIZE + TAG_SIZE


def _derive(dek: bytes, prefix: bytes, salt: bytes, context: bytes) -> tuple[bytes, int, bytes]:
    if len(dek) != 32:
        raise ValueError("data key must be 32 bytes")
    okm = HKDF(
        algorithm=SHA512(), length=_KEY + _NONCE + _COMMIT, salt=salt, info=_INFO_LABEL + prefix + context
    ).derive(dek)
    key, nonce, commitment = okm[:_KEY], okm[_KEY : _KEY + _NONCE], okm[_KEY + _NONCE :]
    return key, int.from_bytes(nonce, "big"), commitment


def _nonce(base_nonce: int, index: int) -> bytes:
    if not 0 <= index < 2**32:
        raise ValueError("chunk index out of range")
    return (base_nonce ^ index).to_bytes(_NONCE, "big")


class ObjectEncryptor:
    """Encrypts one object as a stream: write :attr:`header`, then every :meth:`update`, then :meth:`finalize`.

    Args:
        dek: The object's 32-byte data key.
        context: Canonical context of the object (owner, document, version); decryption needs the same bytes.
        salt: 24-byte salt; random when omitted (pass one only for known-answer tests).
    """

    def __init__(self, dek: bytes, context: bytes, salt: bytes | None = None) -> None:
        salt = os.urandom(SALT_SIZE) if salt is None else salt
        if len(salt) != SALT_SIZE:
            raise ValueError("salt must be 24 bytes")
        key, self._base_nonce, commitment = _derive(dek, _PREFIX, salt, context)
        self._aead = AESGCM(key)
        self.header = _PREFIX + salt + commitment
        self._buffer = bytearray()
        self._index = 0
        self._finalized = False

    def _seal(self, chunk: bytes | bytearray | memoryview) -> bytes:
        sealed = self._aead.encrypt(_nonce(self._base_nonce, self._index), chunk, None)
        self._index += 1
        return sealed

    def _seal_into(self, chunk: bytes | bytearray | memoryview, target: memoryview) -> None:
        self._aead.encrypt_into(_nonce(self._base_nonce, self._index), chunk, None, target)
        self._index += 1

    def sealed_size(self, size: int) -> int:
        """Bytes that :meth:`update_into` writes for ``size`` more plaintext bytes (whole chunks only)."""
        return (len(self._buffer) + size) // CHUNK_SIZE * SEALED_CHUNK_SIZE

    def update(self, data: bytes | bytearray | memoryview) -> bytes:
        """Add plaintext; return the sealed complete chunks it finishes (fewer than 64 KiB stay buffered)."""
        out = bytearray(self.sealed_size(len(data)))
        self.update_into(data, out)
        return bytes(out)

    def update_into(self, data: bytes | bytearray | memoryview, out: bytearray | memoryview) -> int:
        """Like :meth:`update`, writing the sealed chunks into ``out``; return how many bytes were written.

        Sealing goes straight from ``data`` into ``out`` (no intermediate copy), so a caller that reuses its
        buffers streams without allocating. ``out`` must hold at least :meth:`sealed_size` bytes.
        """
        if self._finalized:
            raise RuntimeError("encryptor already finalized")
        size = self.sealed_size(len(data))
        with memoryview(data) as view, memoryview(out) as target:
            if len(target) < size:
                raise ValueError("output buffer is too small")
            pos = min(CHUNK_SIZE - len(self._buffer), len(view)) if self._buffer else 0
            self._buffer += view[:pos]
            at = 0
            if len(self._buffer) == CHUNK_SIZE:
                self._seal_into(self._buffer, target[:SEALED_CHUNK_SIZE])
                self._buffer.clear()
                at = SEALED_CHUNK_SIZE
            while len(view) - pos >= CHUNK_SIZE:
                self._seal_into(view[pos : pos + CHUNK_SIZE], target[at : at + SEALED_CHUNK_SIZE])
                pos, at = pos + CHUNK_SIZE, at + SEALED_CHUNK_SIZE
            self._buffer += view[pos:]
        return size

    def finalize(self) -> bytes:
        """Seal and return the final chunk (0 to 65535 plaintext bytes)."""
        if self._finalized:
            raise RuntimeError("encryptor already finalized")
        self._finalized = True
        sealed = self._seal(bytes(self._buffer))
        self._buffer.clear()
        return sealed


class ObjectDecryptor:
    """Checks an object's header and opens its chunks one at a time, each verified before it is released.

    Args:
        header: The object's first 64 bytes.
        dek: The object's 32-byte data key.
        context: Canonical context the object was written for.

    Raises:
        IntegrityError: On a wrong magic, version, suite or reserved field, or a key commitment mismatch
            (wrong key, wrong context, or an edited header).
    """

    def __init__(self, header: bytes, dek: bytes, context: bytes) -> None:
        if len(header) != HEADER_SIZE or header[:4] != MAGIC:
            raise IntegrityError("object header is malformed")
        if header[4] != FORMAT_VERSION or header[5] != SUITE or header[6:8] != b"\0\0":
            raise IntegrityError("object uses an unknown format version or suite")
        salt, stored = header[8 : 8 + SALT_SIZE], header[8 + SALT_SIZE :]
        key, self._base_nonce, commitment = _derive(dek, header[:8], salt, context)
        if not hmac.compare_digest(commitment, stored):
            raise IntegrityError("object key commitment mismatch")
        self._aead = AESGCM(key)

    def decrypt_chunk(self, index: int, sealed: bytes | memoryview, final: bool) -> bytes:
        """Open chunk ``index``; ``final`` says whether it must be the object's last chunk.

        Returns:
            The chunk's plaintext, only after its tag verified.

        Raises:
            IntegrityError: If the tag fails or the size does not fit the chunk's position.
        """
        _check_sealed_size(len(sealed), final)
        try:
            return self._aead.decrypt(_nonce(self._base_nonce, index), sealed, None)
        except InvalidTag as exc:
            raise IntegrityError("object chunk failed authentication") from exc

    def decrypt_chunk_into(
        self, index: int, sealed: bytes | bytearray | memoryview, final: bool, target: memoryview
    ) -> int:
        """Like :meth:`decrypt_chunk`, writing the plaintext into ``target``; returns its length.

        On failure ``target`` may hold unverified bytes: the caller must discard it, never release it.
        """
        _check_sealed_size(len(sealed), final)
        try:
            return int(self._aead.decrypt_into(_nonce(self._base_nonce, index), sealed, None, target))
        except InvalidTag as exc:
            raise IntegrityError("object chunk failed authentication") from exc


def _check_sealed_size(size: int, final: bool) -> None:
    ok_size = TAG_SIZE <= size < SEALED_CHUNK_SIZE if final else size == SEALED_CHUNK_SIZE
    if not ok_size:
        raise IntegrityError("object chunk has the wrong size")


def encrypt_object(dek: bytes, context: bytes, plaintext: bytes, salt: bytes | None = None) -> bytes:
    """Encrypt a whole in-memory plaintext (small objects and tests; use the streaming API otherwise)."""
    encryptor = ObjectEncryptor(dek, context, salt)
    return encryptor.header + encryptor.update(plaintext) + encryptor.finalize()


def decrypt_object(dek: bytes, context: bytes, blob: bytes) -> bytes:
    """Decrypt a whole in-memory object, checking its structure, commitment and every tag.

    Raises:
        IntegrityError: On any tampering, truncation, reordering, appended data or wrong context.
    """
    body = len(blob) - HEADER_SIZE
    if body < TAG_SIZE:
        raise IntegrityError("object is truncated")
    decryptor = ObjectDecryptor(blob[:HEADER_SIZE], dek, context)
    last = body // SEALED_CHUNK_SIZE
    view = memoryview(blob)
    parts = [
        decryptor.decrypt_chunk(index, view[chunk_offset(index) : chunk_offset(index + 1)], index == last)
        for index in range(last + 1)
    ]
    return b"".join(parts)
