"""Checkpoints as C2SP `tlog-checkpoint` signed notes with an Ed25519 key (golang.org/x/mod/sumdb/note format).

A checkpoint body is three lines: the log's origin, the tree size in decimal and the base64 root hash. The
signed note appends a blank line and one signature line per key: `— <name> <base64(key hash || signature)>`,
where the key hash is the first four bytes of `SHA-256(name || "\\n" || 0x01 || public key)`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from vault.audit.errors import NoteError

__all__ = (
    "CheckpointBody",
    "NoteError",
    "check_key_name",
    "checkpoint_body",
    "generate_signing_key",
    "key_hash",
    "open_checkpoint",
    "parse_note_verifier",
    "public_key_bytes",
    "public_key_note_verifier",
    "sign_note",
)

_ALG_ED25519 = b"\x01"
_SIG_PREFIX = "\u2014 "  # em dash and a space, as in the signed-note specification
_FORBIDDEN_NAME_CHARS = frozenset("+ \t\n\r\u00a0\u2014")


@dataclass(frozen=True)
class CheckpointBody:
    """The signed content of a checkpoint.

    Attributes:
        origin: the log's identity (first line).
        tree_size: number of entries the root covers.
        root_hash: the RFC 9162 tree head.
    """

    origin: str
    tree_size: int
    root_hash: bytes


def generate_signing_key() -> Ed25519PrivateKey:
    """A fresh Ed25519 key for signing checkpoints (the service keeps its seed wrapped by its key provider)."""
    return Ed25519PrivateKey.generate()


def public_key_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The raw 32-byte Ed25519 public key."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def check_key_name(name: str) -> None:
    """Refuse a key name the signed-note format cannot carry (empty, spaces, `+`).

    Raises:
        NoteError: when the name is not usable.
    """
    if not name or any(ch in _FORBIDDEN_NAME_CHARS or ch.isspace() for ch in name):
        raise NoteError(f"invalid key name {name!r}: it must be non-empty, without spaces or '+'")


def key_hash(name: str, public_key: bytes) -> bytes:
    """The 4-byte key hash the signed-note format puts in front of each signature."""
    return hashlib.sha256(name.encode() + b"\n" + _ALG_ED25519 + public_key).digest()[:4]


def public_key_note_verifier(origin: str, key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The verifier key string `<name>+<hex key hash>+<base64(0x01 || public key)>` for note tooling."""
    check_key_name(origin)
    raw = public_key_bytes(key)
    encoded = base64.b64encode(_ALG_ED25519 + raw).decode()
    return f"{origin}+{key_hash(origin, raw).hex()}+{encoded}"


def parse_note_verifier(verifier: str) -> tuple[str, Ed25519PublicKey]:
    """Split a verifier key string into its name and public key, checking its key hash.

    Raises:
        NoteError: when the string is malformed, not Ed25519, or its hash does not match.
    """
    parts = verifier.split("+", 2)  # the base64 key itself may contain '+'; the name may not
    if len(parts) != 3:
        raise NoteError("a verifier key has three '+'-separated parts")
    name, hash_hex, encoded = parts
    check_key_name(name)
    try:
        blob = base64.b64decode(encoded, validate=True)
        expected_hash = bytes.fromhex(hash_hex)
    except (binascii.Error, ValueError) as exc:
        raise NoteError("the verifier key is not valid base64/hex") from exc
    if len(blob) != 33 or blob[:1] != _ALG_ED25519:
        raise NoteError("the verifier key is not an Ed25519 key")
    if len(hash_hex) != 8 or key_hash(name, blob[1:]) != expected_hash:
        raise NoteError("the verifier key hash does not match its key")
    return name, Ed25519PublicKey.from_public_bytes(blob[1:])


def checkpoint_body(origin: str, tree_size: int, root_hash: bytes) -> str:
    """The note text of a checkpoint: origin, size and base64 root, each on its own line."""
    if not origin or "\n" in origin:
        raise NoteError("the origin must be one non-empty line")
    return f"{origin}\n{tree_size}\n{base64.b64encode(root_hash).decode()}\n"


def sign_note(text: str, name: str, key: Ed25519PrivateKey) -> str:
    """Sign a note text and return the whole signed note (text, blank line, signature line).

    Raises:
        NoteError: when the text does not end with a newline or contains a blank line.
    """
    check_key_name(name)
    if not text.endswith("\n") or "\n\n" in text:
        raise NoteError("a note text ends with a newline and has no blank line")
    signature = key.sign(text.encode())
    blob = base64.b64encode(key_hash(name, public_key_bytes(key)) + signature).decode()
    return f"{text}\n{_SIG_PREFIX}{name} {blob}\n"


def _split_note(note: str) -> tuple[str, list[str]]:
    text, sep, signatures = note.rpartition("\n\n")
    if not sep or not signatures.endswith("\n"):
        raise NoteError("malformed note: no blank line before the signatures")
    return text + "\n", signatures[:-1].split("\n")


def _verify_signed_text(note: str, name: str, public_key: Ed25519PublicKey) -> str:
    text, lines = _split_note(note)
    expected_hash = key_hash(name, public_key_bytes(public_key))
    for line in lines:
        if not line.startswith(_SIG_PREFIX):
            raise NoteError("malformed note: a signature line must start with an em dash")
        sig_name, _, encoded = line[len(_SIG_PREFIX) :].partition(" ")
        try:
            blob = base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise NoteError("malformed note: signature is not base64") from exc
        if sig_name != name or blob[:4] != expected_hash:
            continue
        try:
            public_key.verify(blob[4:], text.encode())
        except InvalidSignature as exc:
            raise NoteError(f"invalid signature for key {name}") from exc
        return text
    raise NoteError(f"the note has no signature by key {name}")


def open_checkpoint(note: str, name: str, public_key: Ed25519PublicKey) -> CheckpointBody:
    """Verify a signed checkpoint note and parse its body.

    Args:
        note: the whole signed note.
        name: the key name (the log's origin).
        public_key: the log's Ed25519 public key.

    Raises:
        NoteError: when the signature is missing or wrong, or the body is not a checkpoint.
    """
    text = _verify_signed_text(note, name, public_key)
    lines = text.split("\n")
    if len(lines) < 4 or not lines[1].isdigit() or (lines[1].startswith("0") and lines[1] != "0"):
        raise NoteError("malformed checkpoint body")
    try:
        root_hash = base64.b64decode(lines[2], validate=True)
    except binascii.Error as exc:
        raise NoteError("malformed checkpoint root hash") from exc
    if len(root_hash) != 32:
        raise NoteError("a checkpoint root hash has 32 bytes")
    return CheckpointBody(origin=lines[0], tree_size=int(lines[1]), root_hash=root_hash)
