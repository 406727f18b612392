"""The PKCS#11 key provider on a private SoftHSM2 token.

SoftHSM reads SOFTHSM2_CONF once per process, and the signing tests load it in this one with their own token.
So each scenario below runs in a child process (``python -m tests.integration.test_storage_pkcs11 NAME``) whose
environment points at a token this test creates with ``softhsm2-util``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULE = "/usr/lib/softhsm/libsofthsm2.so"
TOKEN, PIN, SO_PIN = "storage-kek", "4321", "8765"
URL = f"pkcs11:{MODULE}?token={TOKEN}&pin-env=STORAGE_TEST_HSM_PIN&label=vault-kek"


@pytest.fixture
def hsm_env(tmp_path: Path) -> dict[str, str]:
    """Environment for a child process: a fresh token in a private SoftHSM2 token directory, and its PIN."""
    if not Path(MODULE).exists():
        pytest.fail(f"SoftHSM2 is not installed ({MODULE} missing): apt-get install softhsm2")
    (tmp_path / "tokens").mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tmp_path / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    env = {**os.environ, "SOFTHSM2_CONF": str(conf), "STORAGE_TEST_HSM_PIN": PIN}
    init = ["softhsm2-util", "--init-token", "--free", "--label", TOKEN, "--pin", PIN, "--so-pin", SO_PIN]
    result = subprocess.run(init, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.fail(f"softhsm2-util --init-token failed: {result.stdout}{result.stderr}")
    return env


# --- scenarios: run in the child process -------------------------------------------------------------------------


def _context(version: str) -> bytes:
    from storage import canonical_context

    return canonical_context("citizen-vault/sk/v1", [("owner", "o-1"), ("version", version)])


def round_trip_and_context_binding() -> None:
    from storage import IntegrityError, KeyProvider, generate_key, key_provider_from_url

    provider = key_provider_from_url(URL + "&create=true")
    assert isinstance(provider, KeyProvider)
    provider.check()
    key = generate_key()
    wrapped = provider.wrap(key, _context("1"))
    assert provider.unwrap(wrapped, _context("1")) == key
    bad_blobs = [wrapped[:-1], wrapped + b"\0", *(_flip(wrapped, i) for i in range(0, len(wrapped) * 8, 37))]
    for bad in bad_blobs:
        try:
            provider.unwrap(bad, _context("1"))
        except IntegrityError:
            continue
        raise AssertionError(f"tampered blob accepted: {bad.hex()}")
    try:
        provider.unwrap(wrapped, _context("2"))
    except IntegrityError:
        return
    raise AssertionError("a wrapped key moved to another context unwrapped")


def _flip(blob: bytes, bit: int) -> bytes:
    out = bytearray(blob)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def rotate_and_rewrap() -> None:
    from storage import generate_key, key_provider_from_url

    provider = key_provider_from_url(URL + "&create=true")
    key = generate_key()
    old = provider.wrap(key, _context("1"))
    assert provider.rotate() == 2
    assert provider.current_version() == 2
    assert provider.unwrap(old, _context("1")) == key
    new = provider.rewrap(old, _context("1"))
    assert new[:4] == (2).to_bytes(4, "big")
    assert provider.rewrap(new, _context("1")) == new
    reopened = key_provider_from_url(URL)
    assert reopened.current_version() == 2
    assert reopened.unwrap(old, _context("1")) == reopened.unwrap(new, _context("1")) == key


def kek_never_leaves_the_token() -> None:
    import pkcs11
    from pkcs11 import Attribute, ObjectClass
    from pkcs11.exceptions import AttributeSensitive

    from storage import key_provider_from_url

    key_provider_from_url(URL + "&create=true").rotate()
    token = pkcs11.lib(MODULE).get_token(token_label=TOKEN)
    with token.open() as session:  # the provider has logged this process in
        keks = list(session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.LABEL: "vault-kek"}))
        assert len(keks) == 2
        for kek in keks:
            assert kek[Attribute.EXTRACTABLE] is False
            assert kek[Attribute.SENSITIVE] is True
            try:
                kek[Attribute.VALUE]
            except AttributeSensitive:
                continue
            raise AssertionError("the KEK value could be read out of the token")


def refuses_to_start_without_its_key_or_pin() -> None:
    from storage import KeyProviderUnavailable, key_provider_from_url

    broken = [
        URL,  # no KEK with this label yet, and create is off
        URL.replace(f"token={TOKEN}", "token=no-such-token") + "&create=true",
        URL.replace("STORAGE_TEST_HSM_PIN", "STORAGE_TEST_UNSET_PIN") + "&create=true",
    ]
    os.environ.pop("STORAGE_TEST_UNSET_PIN", None)
    for url in broken:
        try:
            key_provider_from_url(url)
        except KeyProviderUnavailable:
            continue
        raise AssertionError(f"opened a key provider from {url}")
    os.environ["STORAGE_TEST_HSM_PIN"] = "0000"
    try:
        key_provider_from_url(URL + "&create=true")
    except KeyProviderUnavailable:
        return
    raise AssertionError("opened the token with a wrong PIN")


def blobs_of_another_provider_fail() -> None:
    import tempfile

    from storage import IntegrityError, LocalKeyring, generate_key, key_provider_from_url

    provider = key_provider_from_url(URL + "&create=true")
    local = LocalKeyring.open(Path(tempfile.mkdtemp()) / "k.json", create=True)
    try:
        provider.unwrap(local.wrap(generate_key(), _context("1")), _context("1"))
    except IntegrityError:
        return
    raise AssertionError("a blob from another KEK unwrapped")


SCENARIOS: dict[str, Callable[[], None]] = {
    fn.__name__: fn
    for fn in (
        round_trip_and_context_binding,
        rotate_and_rewrap,
        kek_never_leaves_the_token,
        refuses_to_start_without_its_key_or_pin,
        blobs_of_another_provider_fail,
    )
}


@pytest.mark.hsm
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_pkcs11_key_provider(hsm_env: dict[str, str], scenario: str) -> None:
    command = [sys.executable, "-m", "tests.integration.test_storage_pkcs11", scenario]
    result = subprocess.run(command, env=hsm_env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"{scenario} failed:\n{result.stdout}{result.stderr}"
    assert result.stdout.strip() == f"ok {scenario}"


if __name__ == "__main__":
    SCENARIOS[sys.argv[1]]()
    print(f"ok {sys.argv[1]}")
