"""Key providers: where the key-encryption key (KEK) lives. The local keyring is a versioned 0600 JSON file."""

from __future__ import annotations

import base64
import json
import os
import stat
import threading
from pathlib import Path
from typing import Protocol, runtime_checkable

from storage._errors import IntegrityError, KeyProviderUnavailable, StorageError
from storage._keywrap import KEY_SIZE, generate_key, unwrap_key, wrap_key

__all__ = ("KeyProvider", "LocalKeyring", "split_versioned", "versioned")

_VERSION_BYTES = 4


@runtime_checkable
class KeyProvider(Protocol):
    """Wraps and unwraps keys under a versioned KEK that never leaves the provider.

    Every wrapped blob names the KEK version it was made with, so blobs made before a rotation still unwrap.
    """

    def wrap(self, key: bytes, context: bytes) -> bytes:
        """Wrap ``key`` under the current KEK version, bound to ``context``."""
        ...

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        """Unwrap a blob made by any KEK version; IntegrityError on any mismatch."""
        ...

    def rewrap(self, wrapped: bytes, context: bytes) -> bytes:
        """Return the blob wrapped under the current KEK version (unchanged if it already is)."""
        ...

    def current_version(self) -> int:
        """The KEK version new wraps use."""
        ...

    def rotate(self) -> int:
        """Add a new KEK version, make it current and return it."""
        ...

    def check(self) -> None:
        """Raise KeyProviderUnavailable if the provider cannot be used."""
        ...


def versioned(version: int, blob: bytes) -> bytes:
    """Prefix a wrapped key with the KEK version that made it (``u32be``)."""
    return version.to_bytes(_VERSION_BYTES, "big") + blob


def split_versioned(wrapped: bytes) -> tuple[int, bytes]:
    """Split a provider blob into ``(kek_version, inner blob)``; IntegrityError if too short."""
    if len(wrapped) <= _VERSION_BYTES:
        raise IntegrityError("wrapped key is malformed")
    return int.from_bytes(wrapped[:_VERSION_BYTES], "big"), wrapped[_VERSION_BYTES:]


def _write_private(path: Path, data: bytes) -> None:
    """Atomically replace ``path`` with ``data`` in a file that only the owner can read (mode 0600)."""
    tmp = path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class LocalKeyring:
    """Versioned 32-byte KEKs in a JSON file with mode 0600; for development and single-host deployments.

    Create or load one with :meth:`open`. Blobs are ``u32be(kek_version) ‖ wrap_key(...)``.
    """

    def __init__(self, path: Path, keys: dict[int, bytes], current: int) -> None:
        self._path = path
        self._keys = dict(keys)
        self._current = current
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, create: bool = False) -> LocalKeyring:
        """Load the keyring at ``path``, or create one with a first KEK version when ``create`` is set.

        Raises:
            KeyProviderUnavailable: If the file is missing (and ``create`` is off), unreadable or malformed.
            StorageError: If the file is readable by group or others.
        """
        path = Path(path)
        if create and not path.exists():
            keyring = cls(path, {1: generate_key()}, 1)
            keyring._save(exclusive=True)
            return keyring
        keys, current = _load(path)
        return cls(path, keys, current)

    def _save(self, *, exclusive: bool = False) -> None:
        doc = {
            "format": 1,
            "current": self._current,
            "keys": {str(v): base64.b64encode(k).decode() for v, k in sorted(self._keys.items())},
        }
        data = json.dumps(doc, indent=2).encode()
        if exclusive:
            fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            return
        _write_private(self._path, data)

    def current_version(self) -> int:
        """The KEK version new wraps use."""
        return self._current

    def wrap(self, key: bytes, context: bytes) -> bytes:
        """Wrap ``key`` under the current KEK, bound to ``context``."""
        with self._lock:
            version, kek = self._current, self._keys[self._current]
        return versioned(version, wrap_key(kek, key, context))

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        """Unwrap a blob made by any KEK version still in the keyring.

        Raises:
            IntegrityError: On an unknown KEK version, a wrong context or any tampering.
        """
        version, inner = split_versioned(wrapped)
        kek = self._keys.get(version)
        if kek is None:
            # another process rotated the keyring (`vault keys rotate` while instances serve): read it again
            kek = self._reload().get(version)
        if kek is None:
            raise IntegrityError("wrapped key names an unknown key version")
        return unwrap_key(kek, inner, context)

    def _reload(self) -> dict[int, bytes]:
        """Merge the key versions on disk into this keyring (new versions only; a known one never changes)."""
        keys, current = _load(self._path)
        with self._lock:
            for version, key in keys.items():
                self._keys.setdefault(version, key)
            self._current = max(self._current, current)
            return dict(self._keys)

    def rewrap(self, wrapped: bytes, context: bytes) -> bytes:
        """Rewrap to the current KEK version; a blob already there is verified and returned unchanged."""
        key = self.unwrap(wrapped, context)
        if split_versioned(wrapped)[0] == self._current:
            return wrapped
        return self.wrap(key, context)

    def rotate(self) -> int:
        """Add a new KEK version, persist it, make it current and return it."""
        with self._lock:
            new = max(self._keys) + 1
            self._keys[new] = generate_key()
            previous, self._current = self._current, new
            try:
                self._save()
            except OSError as exc:
                del self._keys[new]
                self._current = previous
                raise KeyProviderUnavailable("key provider could not persist a new key version") from exc
            return new

    def check(self) -> None:
        """Raise KeyProviderUnavailable unless the keyring file is still present and readable."""
        keys, _ = _load(self._path)
        if keys.get(self._current) != self._keys[self._current]:
            raise KeyProviderUnavailable("key provider file changed underneath the service")


def _load(path: Path) -> tuple[dict[int, bytes], int]:
    try:
        mode = path.stat().st_mode
        raw = path.read_bytes()
    except OSError as exc:
        raise KeyProviderUnavailable() from exc
    if stat.S_IMODE(mode) & 0o077:
        raise StorageError("keyring file must not be readable by group or others (chmod 600)")
    try:
        doc = json.loads(raw)
        keys = {int(v): base64.b64decode(k, validate=True) for v, k in doc["keys"].items()}
        current = int(doc["current"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise KeyProviderUnavailable("keyring file is malformed") from exc
    if current not in keys or any(len(k) != KEY_SIZE for k in keys.values()):
        raise KeyProviderUnavailable("keyring file is malformed")
    return keys, current
