"""The PKCS#11 key provider when its token fails under it: every call is KeyProviderUnavailable, it logs in again
at most once per RECONNECT_INTERVAL, a closed provider never does, and a tampered blob is never mistaken for a
token failure. A fake session stands in for the token (the real one: tests/system/test_fault_dependencies.py)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from pkcs11.exceptions import EncryptedDataInvalid, ObjectHandleInvalid, TokenNotPresent

import storage._pkcs11 as p11
from storage import IntegrityError, KeyProviderUnavailable

_TAG = b"T" * 16


class _Key:
    def __init__(self, token: _Token, version: int) -> None:
        self.token, self.id = token, version.to_bytes(4, "big")

    def encrypt(self, data: bytes, **_: Any) -> bytes:
        self.token.use()
        return bytes(b ^ 0x5A for b in data) + _TAG

    def decrypt(self, data: bytes, **_: Any) -> bytes:
        self.token.use()
        if data[-16:] != _TAG:
            raise EncryptedDataInvalid()
        return bytes(b ^ 0x5A for b in data[:-16])


class _Token:
    """One token; `present` False makes every handle of every session fail, as a token unplugged."""

    def __init__(self) -> None:
        self.present = True
        self.attempts = 0
        self.logins = 0

    def use(self) -> None:
        if not self.present:
            raise ObjectHandleInvalid()

    def login(self) -> _Session:
        self.attempts += 1
        if not self.present:
            raise TokenNotPresent()
        self.logins += 1
        return _Session(self)


class _Session:
    def __init__(self, token: _Token) -> None:
        self.token = token

    def get_objects(self, _: Any) -> list[_Key]:
        self.token.use()
        return [_Key(self.token, 1)]

    def get_key(self, **_: Any) -> _Key:
        self.token.use()
        return _Key(self.token, 1)

    def close(self) -> None:
        self.token.use()


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> _Token:
    clock = [1000.0]
    monkeypatch.setattr(p11.time, "monotonic", lambda: clock[0])
    the_token = _Token()
    the_token.clock = clock  # type: ignore[attr-defined]
    return the_token


def _later(token: _Token, seconds: float) -> None:
    token.clock[0] += seconds  # type: ignore[attr-defined]


def test_a_token_that_comes_back_is_used_again(token: _Token) -> None:
    provider = p11.Pkcs11KeyProvider(token.login(), "kek", token.login)
    wrapped = provider.wrap(os.urandom(32), b"ctx")
    token.present = False
    for call in (lambda: provider.unwrap(wrapped, b"ctx"), provider.check, lambda: provider.wrap(bytes(32), b"c")):
        with pytest.raises(KeyProviderUnavailable):
            call()
    token.present = True
    with pytest.raises(KeyProviderUnavailable):  # within the interval: not even tried
        provider.unwrap(wrapped, b"ctx")
    assert (token.attempts, token.logins) == (2, 1)  # the first login, and one attempt right after the failure
    _later(token, p11.RECONNECT_INTERVAL)
    assert len(provider.unwrap(wrapped, b"ctx")) == 32
    provider.check()
    assert (token.attempts, token.logins) == (3, 2)


def test_attempts_are_throttled_while_the_token_is_gone(token: _Token) -> None:
    provider = p11.Pkcs11KeyProvider(token.login(), "kek", token.login)
    token.present = False
    for _ in range(50):
        with pytest.raises(KeyProviderUnavailable):
            provider.check()
    assert token.attempts == 2  # the first login, then one attempt in the interval, not fifty
    _later(token, p11.RECONNECT_INTERVAL)
    with pytest.raises(KeyProviderUnavailable):
        provider.check()
    assert token.attempts == 3


def test_a_closed_provider_never_logs_in_again(token: _Token) -> None:
    provider = p11.Pkcs11KeyProvider(token.login(), "kek", token.login)
    provider.close()
    _later(token, 10)
    with pytest.raises(KeyProviderUnavailable):
        provider.check()
    assert token.attempts == 1


def test_a_tampered_blob_is_not_a_token_failure(token: _Token) -> None:
    provider = p11.Pkcs11KeyProvider(token.login(), "kek", token.login)
    wrapped = bytearray(provider.wrap(os.urandom(32), b"ctx"))
    wrapped[-1] ^= 1
    with pytest.raises(IntegrityError):
        provider.unwrap(bytes(wrapped), b"ctx")
    assert token.attempts == 1
