"""One logged-in PKCS#11 session that is opened again after the token fails (the seal signer's, the CA key's).

PKCS#11 state is per process and per module: every user of a module in the process (these signers, the storage
library's key provider) shares one ``C_Initialize``. When a token disappears under a running process (an HSM
restarted or unplugged, SoftHSM2's token directory gone), every call fails; once it is back a fresh session logs
in again, and SoftHSM2 sees the returning token only after the library is re-initialised
(``C_Finalize``/``C_Initialize``), which ends every session of the process on that module, the other users' too.

No shared state is needed between those users: whoever re-initialises, the others' next call fails on their dead
session handle and they open a fresh session, which then succeeds without another re-initialisation (the library
already sees the token). Because a handle number may be handed out again after a re-initialisation, a session
whose handle is already gone is never closed (that could close another user's new session), and callers check
each signature made on the token against the certificate's public key before using it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from pkcs11.exceptions import PKCS11Error, SessionClosed, SessionHandleInvalid

from ._errors import SignerUnavailable

__all__ = ("RECONNECT_INTERVAL", "SignatureMismatch", "TokenSession", "open_session")

T = TypeVar("T")
log = logging.getLogger("signing.pkcs11")
# A token that failed is tried again at most this often (a lost token is not hammered on every request).
RECONNECT_INTERVAL = 1.0


class SignatureMismatch(PKCS11Error):
    """A signature made on the token does not match the certificate: the session's handles name other objects
    (after another user re-initialised the module and the numbers were handed out again)."""


# errors after which the session's handle is dead: it is never closed (the number may be another user's by now)
_HANDLE_GONE = (SessionHandleInvalid, SessionClosed)


def open_session(module_path: str, token_label: str, pin: str) -> Any:
    """A python-pkcs11 session on the token, logged in as the user.

    Raises:
        SignerUnavailable: The module or token cannot be opened, or the PIN is wrong.
    """
    from pkcs11 import exceptions as p11_exc
    from pyhanko.config.pkcs11 import TokenCriteria
    from pyhanko.sign import pkcs11 as hanko_p11

    criteria = TokenCriteria(label=token_label)
    try:
        try:
            return hanko_p11.open_pkcs11_session(module_path, token_criteria=criteria, user_pin=pin)
        except p11_exc.UserAlreadyLoggedIn:
            # PKCS#11 login state is per process: the key provider (or another signer) on the same token
            # already logged in, and every new session shares that login.
            return hanko_p11.open_pkcs11_session(module_path, token_criteria=criteria, user_pin=None)
    except (p11_exc.PKCS11Error, OSError, RuntimeError) as exc:
        raise SignerUnavailable("The PKCS#11 token could not be opened.") from exc


def _reinitialize(module_path: str) -> None:
    import pkcs11

    pkcs11.lib(module_path).reinitialize()


class TokenSession:
    """A logged-in session on one token that logs in again after a token failure.

    Use :meth:`run` (or :meth:`current`, :meth:`failed` and :meth:`failed_again` around an asynchronous
    operation): an operation that fails with a PKCS#11 error is retried once on a fresh session; while the token
    stays unusable every call answers SignerUnavailable and a fresh session is tried at most every
    ``RECONNECT_INTERVAL`` seconds: first a new session, and only if that fails the module re-initialised.
    Operations that hold object handles must look them up again when the session they get is a new one.

    Attributes:
        description: A secret-free name for logs.
    """

    def __init__(
        self,
        opener: Callable[[], Any],
        reinitialize: Callable[[], None],
        *,
        description: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Open the first session.

        Args:
            opener: Opens a logged-in session (SignerUnavailable when it cannot).
            reinitialize: Re-initialises the PKCS#11 module of the process.
            description: A secret-free name for logs.
            clock: Monotonic seconds (tests pass their own).

        Raises:
            SignerUnavailable: The first session cannot be opened.
        """
        self._open = opener
        self._reinitialize = reinitialize
        self._clock = clock
        self._lock = threading.Lock()
        self._session = opener()
        self._closed = False
        self._broken = False
        self._handle_gone = False  # the session's handle is dead (never close it: the number may be reused)
        self._last_attempt = -math.inf
        self.description = description

    @classmethod
    def login(cls, module_path: str, token_label: str, pin: str) -> TokenSession:
        """Log in to the token ``token_label`` of the module ``module_path``.

        Raises:
            SignerUnavailable: The module or token cannot be opened, or the PIN is wrong.
        """
        return cls(
            lambda: open_session(module_path, token_label, pin),
            lambda: _reinitialize(module_path),
            description=f"PKCS#11 token {token_label!r}",
        )

    def run(self, operation: Callable[[Any], T]) -> T:
        """``operation(session)``, retried once on a fresh session after a PKCS#11 error.

        Raises:
            SignerUnavailable: The session is closed, or the token fails and cannot be logged in to now.
        """
        session = self.current()
        try:
            return operation(session)
        except PKCS11Error as exc:
            session = self.failed(session, exc)
        try:
            return operation(session)
        except PKCS11Error as exc:
            self.failed_again(session, exc)

    def current(self) -> Any:
        """The session to use (a fresh one if the token failed and a new attempt is due).

        Raises:
            SignerUnavailable: Closed, or the token failed and cannot be logged in to now.
        """
        with self._lock:
            if self._closed:
                raise SignerUnavailable("The PKCS#11 session is closed.")
            if self._broken and not self._reconnect():
                raise SignerUnavailable("The PKCS#11 token is unavailable.")
            return self._session

    def failed(self, session: Any, exc: Exception) -> Any:
        """After ``exc`` from an operation on ``session``: the session to retry it on, once.

        Raises:
            SignerUnavailable: Closed, or no fresh session can be opened now (``exc`` is its cause).
        """
        with self._lock:
            if self._closed:
                raise SignerUnavailable("The PKCS#11 session is closed.") from exc
            if session is self._session:
                log.warning("%s failed (%s); logging in again", self.description, type(exc).__name__)
                self._broken = True
                self._handle_gone = self._handle_gone or isinstance(exc, _HANDLE_GONE)
            if self._broken and not self._reconnect():  # (not broken: another thread already logged in again)
                raise SignerUnavailable("The PKCS#11 token is unavailable.") from exc
            return self._session

    def failed_again(self, session: Any, exc: Exception) -> NoReturn:
        """The retry on ``session`` failed too: the token is unusable for now."""
        with self._lock:
            if session is self._session:
                self._broken = True
        raise SignerUnavailable("The PKCS#11 token is unavailable.") from exc

    def close(self) -> None:
        """Close the session for good (idempotent); later calls answer SignerUnavailable."""
        with self._lock:
            if not self._closed and not self._handle_gone:
                # already closed or token gone: nothing left to release
                with contextlib.suppress(PKCS11Error):
                    self._session.close()
            self._closed = True

    def _reconnect(self) -> bool:
        """A fresh logged-in session (the lock held); False if none can be opened yet or the last try was too
        recent."""
        now = self._clock()
        if now - self._last_attempt < RECONNECT_INTERVAL:
            return False
        self._last_attempt = now
        if not self._handle_gone:
            with contextlib.suppress(PKCS11Error):
                self._session.close()
            self._handle_gone = True
        try:
            try:
                session = self._open()
            except SignerUnavailable:
                # the process's view of the module is stale (SoftHSM2 reads its tokens at C_Initialize)
                self._reinitialize()
                session = self._open()
        except (SignerUnavailable, PKCS11Error) as exc:
            log.warning("%s still unavailable (%s)", self.description, type(exc).__name__)
            return False
        self._session = session
        self._broken = self._handle_gone = False
        log.warning("%s answers again", self.description)
        return True
