"""The signers' PKCS#11 session when its token fails under it: an operation is retried once on a fresh session,
every call while the token is gone is SignerUnavailable, a fresh session is tried at most once per
RECONNECT_INTERVAL (the module re-initialised only when a new session cannot be opened), a dead session handle is
never closed, and a closed session never logs in again. Fakes stand in for the token (the real one:
tests/integration/test_signing_pkcs11_reconnect.py)."""

from __future__ import annotations

from typing import Any

import pytest
from pkcs11.exceptions import ObjectHandleInvalid, SessionHandleInvalid

from signing import SignerUnavailable
from signing._pkcs11_session import RECONNECT_INTERVAL, SignatureMismatch, TokenSession


class _Session:
    def __init__(self, token: _Token) -> None:
        self.token = token
        self.closed = False

    def sign(self) -> str:
        if not self.token.present or self.token.reinitialised_after(self):
            raise ObjectHandleInvalid()
        return "signature"

    def close(self) -> None:
        self.closed = True


class _Token:
    """A token; `present` False fails every operation; `visible` False (SoftHSM2 after its token directory came
    back) fails new sessions until the module is re-initialised."""

    def __init__(self) -> None:
        self.present = self.visible = True
        self.now = 1000.0
        self.opened: list[_Session] = []
        self.attempts = self.reinitialisations = 0
        self._generation = 0
        self._born: dict[int, int] = {}

    def open(self) -> _Session:
        self.attempts += 1
        if not (self.present and self.visible):
            raise SignerUnavailable("The PKCS#11 token could not be opened.")
        session = _Session(self)
        self._born[id(session)] = self._generation
        self.opened.append(session)
        return session

    def reinitialize(self) -> None:
        self.reinitialisations += 1
        self._generation += 1
        self.visible = self.present

    def reinitialised_after(self, session: _Session) -> bool:
        return self._born[id(session)] != self._generation


@pytest.fixture
def token() -> _Token:
    return _Token()


def _session(token: _Token) -> TokenSession:
    return TokenSession(token.open, token.reinitialize, description="test token", clock=lambda: token.now)


def _sign(session: TokenSession) -> Any:
    return session.run(lambda s: s.sign())


def test_a_token_that_comes_back_is_logged_in_to_again(token: _Token) -> None:
    session = _session(token)
    assert _sign(session) == "signature"
    token.present = token.visible = False
    with pytest.raises(SignerUnavailable):
        _sign(session)
    # right after the failure: a new session, then the module re-initialised and a new session again
    assert (token.attempts, token.reinitialisations) == (3, 1)
    token.present = True  # back, but not visible until the module is re-initialised (SoftHSM2)
    with pytest.raises(SignerUnavailable):  # within the interval: not even tried
        _sign(session)
    assert token.attempts == 3
    token.now += RECONNECT_INTERVAL
    assert _sign(session) == "signature"
    assert (token.attempts, token.reinitialisations) == (5, 2)
    assert token.opened[0].closed  # the failed session was closed (its handle was still valid)


def test_a_fresh_session_is_tried_before_reinitialising(token: _Token) -> None:
    session = _session(token)
    first = token.opened[0]
    token.reinitialize()  # another user of the module (the key provider) re-initialised it: our handles are dead
    assert _sign(session) == "signature"  # retried at once on a fresh session
    assert (token.attempts, token.reinitialisations) == (2, 1)  # no second re-initialisation
    assert first.closed  # its error did not say the handle was gone


def test_attempts_are_throttled_while_the_token_is_gone(token: _Token) -> None:
    session = _session(token)
    token.present = token.visible = False
    for _ in range(50):
        with pytest.raises(SignerUnavailable):
            _sign(session)
    assert (token.attempts, token.reinitialisations) == (3, 1)  # one attempt in the interval, not fifty
    token.now += RECONNECT_INTERVAL / 2
    with pytest.raises(SignerUnavailable):
        _sign(session)
    assert token.attempts == 3
    token.now += RECONNECT_INTERVAL / 2
    with pytest.raises(SignerUnavailable):
        _sign(session)
    assert (token.attempts, token.reinitialisations) == (5, 2)


def test_a_dead_session_handle_is_never_closed(token: _Token) -> None:
    session = _session(token)
    first = token.opened[0]
    calls = iter([SessionHandleInvalid(), None])

    def operation(_: Any) -> str:
        error = next(calls)
        if error is not None:
            raise error
        return "signature"

    assert session.run(operation) == "signature"
    assert not first.closed  # its handle number may already be another user's new session
    session.close()
    assert token.opened[1].closed


def test_a_closed_session_never_logs_in_again(token: _Token) -> None:
    session = _session(token)
    session.close()
    session.close()  # idempotent
    token.now += 10 * RECONNECT_INTERVAL
    with pytest.raises(SignerUnavailable):
        _sign(session)
    assert token.attempts == 1


def test_an_error_that_is_not_the_token_is_not_retried(token: _Token) -> None:
    session = _session(token)

    def operation(_: Any) -> str:
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        session.run(operation)
    assert token.attempts == 1
    assert _sign(session) == "signature"


def test_a_signature_that_does_not_match_the_certificate_counts_as_a_token_failure(token: _Token) -> None:
    session = _session(token)
    first = token.opened[0]

    def operation(s: Any) -> str:
        if s is first:  # after another user's re-initialisation, our handle numbers named other objects
            raise SignatureMismatch("the token's signature does not match the signing certificate")
        return "signature"

    assert session.run(operation) == "signature"
    assert (token.attempts, token.reinitialisations) == (2, 0)
    assert first.closed  # the handle answered: it was not gone
