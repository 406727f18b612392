"""Checkpoints as signed notes: the golang.org/x/mod/sumdb/note reference vectors and tamper cases."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vault.audit import note

# golang.org/x/mod/sumdb/note note_test.go: signer "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALV..." and its outputs.
PETER_SEED = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")[1:]
PETER_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_SIGNED = (
    PETER_TEXT + "\n\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


@pytest.fixture
def peter() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(PETER_SEED)


def test_verifier_key_string_matches_the_reference(peter: Ed25519PrivateKey) -> None:
    assert note.public_key_note_verifier("PeterNeumann", peter) == PETER_VERIFIER
    name, public = note.parse_note_verifier(PETER_VERIFIER)
    assert name == "PeterNeumann"
    assert note.public_key_bytes(public) == note.public_key_bytes(peter)


def test_signed_note_matches_the_reference(peter: Ed25519PrivateKey) -> None:
    assert note.sign_note(PETER_TEXT, "PeterNeumann", peter) == PETER_SIGNED


@pytest.mark.parametrize(
    "verifier",
    [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong key hash
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # unknown algorithm
        "PeterNeumann+c74f20a3",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",
    ],
)
def test_mangled_verifier_keys_are_refused(verifier: str) -> None:
    with pytest.raises(note.NoteError):
        note.parse_note_verifier(verifier)


def test_a_checkpoint_round_trips_through_its_signed_note(peter: Ed25519PrivateKey) -> None:
    root = bytes(range(32))
    signed = note.sign_note(note.checkpoint_body("example.org/log", 42, root), "example.org/log", peter)
    assert signed.startswith(f"example.org/log\n42\n{base64.b64encode(root).decode()}\n\n\u2014 example.org/log ")
    body = note.open_checkpoint(signed, "example.org/log", peter.public_key())
    assert body == note.CheckpointBody("example.org/log", 42, root)


def _tamper_cases(signed: str) -> dict[str, str]:
    return {
        "size changed": signed.replace("\n42\n", "\n43\n"),
        "origin changed": signed.replace("example.org/log\n", "example.org/lag\n", 1),
        "signature bit flipped": signed[:-10] + ("A" if signed[-10] != "A" else "B") + signed[-9:],
        "no signature": signed.split("\n\n", maxsplit=1)[0] + "\n",
        "signature line without em dash": signed.replace("\u2014", "-"),
    }


@pytest.mark.parametrize(
    "case",
    ["size changed", "origin changed", "signature bit flipped", "no signature", "signature line without em dash"],
)
def test_a_tampered_checkpoint_is_refused(peter: Ed25519PrivateKey, case: str) -> None:
    signed = note.sign_note(note.checkpoint_body("example.org/log", 42, bytes(32)), "example.org/log", peter)
    with pytest.raises(note.NoteError):
        note.open_checkpoint(_tamper_cases(signed)[case], "example.org/log", peter.public_key())


def test_a_checkpoint_signed_by_another_key_is_refused(peter: Ed25519PrivateKey) -> None:
    other = note.generate_signing_key()
    signed = note.sign_note(note.checkpoint_body("example.org/log", 1, bytes(32)), "example.org/log", other)
    with pytest.raises(note.NoteError, match="no signature by key"):
        note.open_checkpoint(signed, "example.org/log", peter.public_key())


@pytest.mark.parametrize("name", ["", "has space", "a+b", "tab\there"])
def test_unusable_key_names_are_refused(peter: Ed25519PrivateKey, name: str) -> None:
    with pytest.raises(note.NoteError):
        note.public_key_note_verifier(name, peter)


def test_a_verifier_key_whose_base64_contains_plus_signs_parses() -> None:
    for _ in range(64):  # about one key in five has a '+' in its base64 form
        key = note.generate_signing_key()
        verifier = note.public_key_note_verifier("log.example/audit", key)
        if verifier.count("+") > 2:
            break
    else:  # pragma: no cover - 64 keys without a '+' has probability ~1e-6
        raise AssertionError("no key with '+' in its base64 form was drawn")
    name, public = note.parse_note_verifier(verifier)
    assert name == "log.example/audit"
    assert note.public_key_bytes(public) == note.public_key_bytes(key)
