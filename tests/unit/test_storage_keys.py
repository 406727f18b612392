"""Key wrapping and the local keyring: bound to context, versioned, rotatable, private on disk."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage import (
    IntegrityError,
    KeyProvider,
    KeyProviderUnavailable,
    LocalKeyring,
    StorageError,
    canonical_context,
    generate_key,
    key_provider_from_url,
    unwrap_key,
    wrap_key,
)

KEK = bytes(range(32, 64))
KEY = bytes(range(64, 96))
CONTEXT = canonical_context("citizen-vault/dek/v1", [("owner", "o"), ("version", "1")])
MOVED = canonical_context("citizen-vault/dek/v1", [("owner", "o"), ("version", "2")])
KAT_WRAPPED = bytes.fromhex(
    "01e39d54ad56821fafc2a70376561e8c9918513d9aca9d102e59803cb068832e18b070855b0f23c414dc5103565aab1a613729cf508b"
    "a47ca37ca97ef5"
)


def test_generate_key_is_32_random_bytes() -> None:
    keys = {generate_key() for _ in range(8)}
    assert len(keys) == 8
    assert all(len(key) == 32 for key in keys)


def test_unwrap_known_answer() -> None:
    assert unwrap_key(KEK, KAT_WRAPPED, CONTEXT) == KEY


def test_wrap_layout_is_version_nonce_ciphertext_tag() -> None:
    wrapped = wrap_key(KEK, KEY, CONTEXT)
    assert len(wrapped) == 1 + 12 + 32 + 16
    assert wrapped[0] == 1
    assert wrap_key(KEK, KEY, CONTEXT)[1:13] != wrapped[1:13], "nonce must be fresh per wrap"


def test_wrapped_key_moved_to_another_context_fails() -> None:
    with pytest.raises(IntegrityError):
        unwrap_key(KEK, wrap_key(KEK, KEY, CONTEXT), MOVED)


def test_wrapped_key_under_another_kek_fails() -> None:
    with pytest.raises(IntegrityError):
        unwrap_key(bytes(32), KAT_WRAPPED, CONTEXT)


@settings(max_examples=100, deadline=None)
@given(bit=st.integers(0, len(KAT_WRAPPED) * 8 - 1))
def test_any_bit_flip_in_a_wrapped_key_fails(bit: int) -> None:
    tampered = bytearray(KAT_WRAPPED)
    tampered[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(IntegrityError):
        unwrap_key(KEK, bytes(tampered), CONTEXT)


@pytest.mark.parametrize("wrapped", [b"", KAT_WRAPPED[:-1], KAT_WRAPPED + b"\0", b"\x02" + KAT_WRAPPED[1:]])
def test_malformed_wrapped_key_fails(wrapped: bytes) -> None:
    with pytest.raises(IntegrityError):
        unwrap_key(KEK, wrapped, CONTEXT)


def test_wrap_refuses_wrong_key_sizes() -> None:
    with pytest.raises(ValueError):
        wrap_key(KEK[:16], KEY, CONTEXT)
    with pytest.raises(ValueError):
        wrap_key(KEK, KEY[:31], CONTEXT)


@pytest.fixture
def keyring(tmp_path: Path) -> LocalKeyring:
    return LocalKeyring.open(tmp_path / "keyring.json", create=True)


def test_keyring_file_is_created_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    LocalKeyring.open(path, create=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_keyring_stays_0600_after_rotation(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    LocalKeyring.open(path, create=True).rotate()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["keyring.json"], "no temp files left behind"


def test_keyring_is_a_key_provider(keyring: LocalKeyring) -> None:
    assert isinstance(keyring, KeyProvider)
    assert keyring.current_version() == 1
    keyring.check()


def test_keyring_wrap_round_trip_and_context_binding(keyring: LocalKeyring) -> None:
    wrapped = keyring.wrap(KEY, CONTEXT)
    assert keyring.unwrap(wrapped, CONTEXT) == KEY
    with pytest.raises(IntegrityError):
        keyring.unwrap(wrapped, MOVED)


def test_rotate_then_rewrap_moves_blobs_to_the_new_version(tmp_path: Path, keyring: LocalKeyring) -> None:
    old = keyring.wrap(KEY, CONTEXT)
    assert keyring.rotate() == 2
    assert keyring.current_version() == 2
    assert keyring.unwrap(old, CONTEXT) == KEY, "blobs made before the rotation still unwrap"
    new = keyring.rewrap(old, CONTEXT)
    assert new[:4] == (2).to_bytes(4, "big")
    assert old[:4] == (1).to_bytes(4, "big")
    assert keyring.unwrap(new, CONTEXT) == KEY
    assert keyring.rewrap(new, CONTEXT) == new, "rewrap is idempotent"
    reopened = LocalKeyring.open(tmp_path / "keyring.json")
    assert reopened.current_version() == 2
    assert reopened.unwrap(old, CONTEXT) == reopened.unwrap(new, CONTEXT) == KEY


def test_rewrap_refuses_a_blob_for_another_context(keyring: LocalKeyring) -> None:
    old = keyring.wrap(KEY, CONTEXT)
    keyring.rotate()
    with pytest.raises(IntegrityError):
        keyring.rewrap(old, MOVED)


def test_blob_naming_an_unknown_version_fails(keyring: LocalKeyring) -> None:
    wrapped = keyring.wrap(KEY, CONTEXT)
    with pytest.raises(IntegrityError):
        keyring.unwrap((7).to_bytes(4, "big") + wrapped[4:], CONTEXT)


def test_blob_from_another_keyring_fails(tmp_path: Path, keyring: LocalKeyring) -> None:
    other = LocalKeyring.open(tmp_path / "other.json", create=True)
    with pytest.raises(IntegrityError):
        keyring.unwrap(other.wrap(KEY, CONTEXT), CONTEXT)


def test_missing_keyring_without_create_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(KeyProviderUnavailable):
        LocalKeyring.open(tmp_path / "absent.json")


def test_keyring_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    LocalKeyring.open(path, create=True)
    path.chmod(0o644)
    with pytest.raises(StorageError, match="chmod 600"):
        LocalKeyring.open(path)


def test_malformed_keyring_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    LocalKeyring.open(path, create=True)
    path.write_text(json.dumps({"format": 1, "current": 2, "keys": {"1": "AAAA"}}))
    with pytest.raises(KeyProviderUnavailable):
        LocalKeyring.open(path)


def test_check_fails_when_the_keyring_file_disappears(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    keyring = LocalKeyring.open(path, create=True)
    path.unlink()
    with pytest.raises(KeyProviderUnavailable):
        keyring.check()


def test_key_provider_from_local_url(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    provider = key_provider_from_url(f"local:{path}?create=true")
    wrapped = provider.wrap(KEY, CONTEXT)
    assert key_provider_from_url(f"local:{path}").unwrap(wrapped, CONTEXT) == KEY


@pytest.mark.parametrize(
    "url",
    [
        "local:relative/k.json",
        "vault-transit:x",
        "local:/k.json?create=maybe",
        "",
        "pkcs11:relative.so?token=t&pin-env=P&label=l",
        "pkcs11:/m.so?token=t&label=l",
        "pkcs11:/m.so?token=t&pin-env=P&label=l&pin=1234",
    ],
)
def test_key_provider_from_bad_url(url: str) -> None:
    with pytest.raises(ValueError):
        key_provider_from_url(url)
