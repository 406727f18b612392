"""The storage library's exceptions: one root, each carrying a client-safe ``detail``."""

from __future__ import annotations

__all__ = (
    "IntegrityError",
    "KeyProviderUnavailable",
    "ObjectNotFound",
    "StorageAccessDenied",
    "StorageError",
    "StorageUnavailable",
    "TooLarge",
)


class StorageError(Exception):
    """Root of every error the storage library raises.

    Attributes:
        detail: A short message that is safe to show to a client (no paths, keys, hosts or internals).
    """

    default_detail = "storage error"

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.default_detail
        super().__init__(self.detail)


class StorageUnavailable(StorageError):
    """The object store or the key provider cannot be reached; callers should fail closed (503)."""

    default_detail = "storage is unavailable"


class StorageAccessDenied(StorageUnavailable):
    """The object store refused our credentials or signature: a configuration fault, still a 503."""

    default_detail = "storage refused the request"


class KeyProviderUnavailable(StorageUnavailable):
    """The key provider (keyring file, HSM) cannot be used right now."""

    default_detail = "key provider is unavailable"


class ObjectNotFound(StorageError):
    """No object is stored under the requested key."""

    default_detail = "object not found"


class IntegrityError(StorageError):
    """An object or wrapped key is tampered, truncated, swapped, or bound to another context."""

    default_detail = "stored data failed its integrity check"


class TooLarge(StorageError):
    """The source gave more bytes than allowed; the upload was aborted and nothing was kept."""

    default_detail = "object is too large"
