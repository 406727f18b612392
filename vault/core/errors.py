"""The service's exception root. Each error knows its HTTP status and a stable problem type; one mapper renders them."""

from __future__ import annotations

from typing import ClassVar

__all__ = (
    "AuditUnavailableError",
    "BadRequest",
    "Busy",
    "Conflict",
    "DatabaseUnavailable",
    "Forbidden",
    "Gone",
    "IntegrityFailure",
    "KeysUnavailable",
    "NotFound",
    "PayloadTooLarge",
    "RangeNotSatisfiable",
    "StorageUnavailableError",
    "TooManyRequests",
    "Unauthorized",
    "UnprocessableContent",
    "UnsupportedMediaType",
    "UpstreamUnavailable",
    "VaultError",
)


class VaultError(Exception):
    """Root of the service's errors.

    Attributes:
        status: HTTP status the error maps to.
        slug: stable last segment of the problem `type` URI.
        title: short, constant summary.
        detail: client-safe explanation of this occurrence (never internals, tokens or content).
    """

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str | None = None, **extra: object) -> None:
        self.detail = detail or self.title
        self.extra = extra
        super().__init__(self.detail)


class BadRequest(VaultError):
    status, slug, title = 400, "bad-request", "Bad request"


class Unauthorized(VaultError):
    status, slug, title = 401, "unauthorized", "Authentication required"


class Forbidden(VaultError):
    status, slug, title = 403, "forbidden", "Not allowed for this role"


class NotFound(VaultError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(VaultError):
    status, slug, title = 409, "conflict", "Conflict"


class Gone(VaultError):
    status, slug, title = 410, "gone", "No longer available"


class PayloadTooLarge(VaultError):
    status, slug, title = 413, "payload-too-large", "Document too large"


class UnsupportedMediaType(VaultError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class RangeNotSatisfiable(VaultError):
    status, slug, title = 416, "range-not-satisfiable", "Range not satisfiable"


class TooManyRequests(VaultError):
    """A limit on attempts was reached; `retry_after` (seconds) is sent as `Retry-After` when known."""

    status, slug, title = 429, "too-many-requests", "Too many requests"


class UnprocessableContent(VaultError):
    status, slug, title = 422, "unprocessable-content", "Unprocessable content"


class IntegrityFailure(VaultError):
    """A stored object failed authentication: tampered, truncated or swapped. Nothing of it is served."""

    status, slug, title = 502, "integrity-failure", "Stored document failed its integrity check"


class UpstreamUnavailable(VaultError):
    status, slug, title = 503, "service-unavailable", "A backing service is unavailable"


class Busy(UpstreamUnavailable):
    """A bounded worker pool or queue is full: try again shortly (`Retry-After`)."""

    slug, title = "busy", "The service is busy; try again shortly"


class StorageUnavailableError(UpstreamUnavailable):
    slug, title = "storage-unavailable", "Object store unavailable"


class DatabaseUnavailable(UpstreamUnavailable):
    slug, title = "database-unavailable", "Database unavailable"


class KeysUnavailable(UpstreamUnavailable):
    slug, title = "key-provider-unavailable", "Key provider unavailable"


class AuditUnavailableError(UpstreamUnavailable):
    slug, title = "audit-unavailable", "Audit log unavailable; the action was refused"
