"""A key provider whose KEK versions are non-extractable AES-256 keys inside a PKCS#11 token (SoftHSM2, HSMs).

Wrapping runs AES-256-GCM inside the token with the context as AAD; blobs have the local layout:
``u32be(kek_version) ‖ 0x01 ‖ nonce (12) ‖ ciphertext+tag``. Each KEK version is a secret key object with
``CKA_LABEL = label`` and ``CKA_ID = u32be(version)``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import (
    EncryptedDataInvalid,
    EncryptedDataLenRange,
    GeneralError,
    PKCS11Error,
    SessionClosed,
    SessionHandleInvalid,
    UserAlreadyLoggedIn,
)
from pkcs11.mechanisms import GCMParams

from storage._errors import IntegrityError, KeyProviderUnavailable
from storage._keyring import split_versioned, versioned
from storage._keywrap import KEY_SIZE, WRAP_VERSION

__all__ = ("Pkcs11KeyProvider",)

T = TypeVar("T")
log = logging.getLogger("storage.pkcs11")
_NONCE = 12
_TAG = 16
_BAD_CIPHERTEXT = (GeneralError, EncryptedDataInvalid, EncryptedDataLenRange)
# errors after which the session's handle is dead (another user of the module re-initialised it)
_HANDLE_GONE = (SessionHandleInvalid, SessionClosed)
# A provider whose token failed logs in again at most this often (a lost token is not hammered on every request).
RECONNECT_INTERVAL = 1.0


def _version_id(version: int) -> bytes:
    return version.to_bytes(4, "big")


class Pkcs11KeyProvider:
    """KEKs in a PKCS#11 token; the key material never leaves it.

    Build it with :meth:`open` or :meth:`from_url`. Calls are serialised on one logged-in session. When the
    token fails under a running process (SoftHSM2's token directory gone, an HSM restarted or unplugged), every
    call answers KeyProviderUnavailable, and the provider logs in again (at most every ``RECONNECT_INTERVAL``
    seconds) until the token answers: a fresh session first, and if the token cannot be opened at all, the
    PKCS#11 library re-initialised (``C_Finalize``/``C_Initialize``, which SoftHSM2 needs to see a token that
    came back; it ends every other session of this process on that module too).
    """

    def __init__(self, session: Any, label: str, reopen: Callable[[], Any] | None = None) -> None:
        self._session = session
        self._label = label
        self._reopen = reopen
        self._lock = threading.Lock()
        self._keys: dict[int, Any] = {}
        self._current = 0
        self._closed = False
        self._broken = False
        self._handle_gone = False
        self._last_attempt = 0.0
        self._load_versions()

    @classmethod
    def open(
        cls, module_path: str, token_label: str, pin: str, label: str, *, create: bool = False
    ) -> Pkcs11KeyProvider:
        """Log in to the token and find the KEK versions labelled ``label``.

        Args:
            module_path: The PKCS#11 module (e.g. ``/usr/lib/softhsm/libsofthsm2.so``).
            token_label: Label of the token.
            pin: User PIN.
            label: Label shared by the KEK versions.
            create: Generate version 1 if the token holds no KEK with this label yet.

        Raises:
            KeyProviderUnavailable: If the module, token or KEK cannot be used.
        """

        def login() -> Any:
            token = pkcs11.lib(module_path).get_token(token_label=token_label)
            try:
                return token.open(rw=True, user_pin=pin)
            except UserAlreadyLoggedIn:
                # PKCS#11 login state is per process: another session (ours or the signer's) already logged in.
                return token.open(rw=True)

        def reopen() -> Any:
            try:
                return login()
            except (PKCS11Error, RuntimeError):
                # the process's view of the token is stale (SoftHSM2 reads its token directory at C_Initialize)
                pkcs11.lib(module_path).reinitialize()
                return login()

        try:
            session = login()
        except (PKCS11Error, RuntimeError, OSError) as exc:
            raise KeyProviderUnavailable() from exc
        provider = cls(session, label, reopen)
        if not provider._keys:
            if not create:
                session.close()
                raise KeyProviderUnavailable("key provider holds no key with the configured label")
            provider.rotate()
        return provider

    @classmethod
    def from_url(cls, url: str) -> Pkcs11KeyProvider:
        """Open from ``pkcs11:<module path>?token=LABEL&pin-env=VAR&label=KEKLABEL[&create=true]``.

        The PIN is read from the environment variable ``pin-env`` names, never from the URL itself.
        """
        parts = urlsplit(url)
        params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = set(params) - {"token", "pin-env", "label", "create"}
        if unknown or not parts.path.startswith("/") or not {"token", "pin-env", "label"} <= set(params):
            raise ValueError("PKCS#11 URL must be pkcs11:/module.so?token=..&pin-env=..&label=..")
        pin = os.environ.get(params["pin-env"])
        if pin is None:
            raise KeyProviderUnavailable("key provider PIN is not configured")
        create = params.get("create", "false").lower() in ("true", "1", "yes")
        return cls.open(unquote(parts.path), params["token"], pin, params["label"], create=create)

    def _load_versions(self) -> None:
        try:
            self._find_versions()
        except PKCS11Error as exc:
            raise KeyProviderUnavailable() from exc

    def _find_versions(self) -> None:
        template = {Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.LABEL: self._label}
        found = {int.from_bytes(key.id, "big"): key for key in self._session.get_objects(template)}
        self._keys = found
        self._current = max(found, default=0)

    def current_version(self) -> int:
        """The KEK version new wraps use."""
        return self._current

    def wrap(self, key: bytes, context: bytes) -> bytes:
        """Encrypt ``key`` with AES-256-GCM inside the token under the current KEK, ``context`` as AAD."""
        if len(key) != KEY_SIZE:
            raise ValueError(f"key must be {KEY_SIZE} bytes")
        nonce = os.urandom(_NONCE)

        def seal() -> tuple[int, bytes]:
            version, kek = self._current, self._keys[self._current]
            params = GCMParams(nonce, context, 128)
            return version, bytes(kek.encrypt(key, mechanism=Mechanism.AES_GCM, mechanism_param=params))

        with self._lock:
            version, sealed = self._use(seal)
        return versioned(version, bytes([WRAP_VERSION]) + nonce + sealed)

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        """Decrypt a blob made by any KEK version in the token.

        Raises:
            IntegrityError: On an unknown KEK version, a wrong context or any tampering.
            KeyProviderUnavailable: If the token fails.
        """
        version, inner = split_versioned(wrapped)
        if len(inner) != 1 + _NONCE + KEY_SIZE + _TAG or inner[0] != WRAP_VERSION:
            raise IntegrityError("wrapped key is malformed")
        params = GCMParams(inner[1 : 1 + _NONCE], context, 128)

        def open_blob() -> bytes:
            if version not in self._keys:
                self._find_versions()  # another instance may have rotated since we opened the token
            kek = self._keys.get(version)
            if kek is None:
                raise IntegrityError("wrapped key names an unknown key version")
            try:
                return bytes(kek.decrypt(inner[1 + _NONCE :], mechanism=Mechanism.AES_GCM, mechanism_param=params))
            except _BAD_CIPHERTEXT as exc:
                raise IntegrityError("wrapped key failed authentication") from exc

        with self._lock:
            return self._use(open_blob)

    def rewrap(self, wrapped: bytes, context: bytes) -> bytes:
        """Rewrap to the current KEK version; a blob already there is verified and returned unchanged."""
        key = self.unwrap(wrapped, context)
        if split_versioned(wrapped)[0] == self._current:
            return wrapped
        return self.wrap(key, context)

    def rotate(self) -> int:
        """Generate a new non-extractable AES-256 KEK version in the token and make it current."""
        with self._lock:
            self._load_versions()
            new = self._current + 1
            template = {Attribute.EXTRACTABLE: False, Attribute.SENSITIVE: True, Attribute.TOKEN: True}
            try:
                key = self._session.generate_key(
                    KeyType.AES, 256, label=self._label, id=_version_id(new), store=True, template=template
                )
            except PKCS11Error as exc:
                raise KeyProviderUnavailable() from exc
            self._keys[new] = key
            self._current = new
            return new

    def check(self) -> None:
        """Raise KeyProviderUnavailable unless the token answers and still holds the current KEK."""
        with self._lock:
            self._use(
                lambda: self._session.get_key(
                    object_class=ObjectClass.SECRET_KEY, label=self._label, id=_version_id(self._current)
                )
            )

    def close(self) -> None:
        """Close the session for good (idempotent: a session already closed or lost with its token is left as it
        is); later calls answer KeyProviderUnavailable."""
        with self._lock, contextlib.suppress(PKCS11Error):
            self._closed = True
            self._session.close()

    def _use(self, operation: Callable[[], T]) -> T:
        """Run ``operation`` on the session (the lock held); on a token failure, log in again once (throttled)
        and retry; KeyProviderUnavailable if the token still fails."""
        if self._closed:
            raise KeyProviderUnavailable()
        if not self._broken:
            try:
                return operation()
            except PKCS11Error as exc:
                log.warning("PKCS#11 token failed (%s); logging in again", type(exc).__name__)
                self._broken = True
                self._handle_gone = isinstance(exc, _HANDLE_GONE)
        if not self._reconnect():
            raise KeyProviderUnavailable()
        try:
            result = operation()
        except PKCS11Error as exc:
            self._broken = True
            self._handle_gone = isinstance(exc, _HANDLE_GONE)
            raise KeyProviderUnavailable() from exc
        log.warning("PKCS#11 token answers again")
        return result

    def _reconnect(self) -> bool:
        """A fresh logged-in session with the KEK versions reloaded; False if the token cannot be used (yet)."""
        now = time.monotonic()
        if self._reopen is None or now - self._last_attempt < RECONNECT_INTERVAL:
            return False
        self._last_attempt = now
        if not self._handle_gone:  # a dead handle's number may be another session's by now: never close it
            with contextlib.suppress(PKCS11Error, RuntimeError):
                self._session.close()
        try:
            self._session = self._reopen()
            self._find_versions()
        except (PKCS11Error, RuntimeError, OSError, KeyProviderUnavailable) as exc:
            log.warning("PKCS#11 token still unavailable (%s)", type(exc).__name__)
            return False
        self._broken = False
        self._handle_gone = False
        return True
