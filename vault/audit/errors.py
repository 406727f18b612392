"""The audit package's errors, under one root: `AuditError`.

The pure modules (entries, notes, Merkle proofs, the offline verifier) raise the malformed-input errors; the
database side raises `AuditUnavailable` (fail closed: the caller answers 503) and `AuditRangeError` for a size
or position outside the log.
"""

from __future__ import annotations

__all__ = (
    "AuditConflict",
    "AuditError",
    "AuditNotFound",
    "AuditRangeError",
    "AuditUnavailable",
    "InvalidEvent",
    "NoteError",
)


class AuditError(Exception):
    """Root of every audit error.

    Attributes:
        detail: a message safe to show or log (no SQL, no parameters, no entry content).
    """

    default_detail = "audit log error"

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.default_detail
        super().__init__(self.detail)


class InvalidEvent(AuditError, ValueError):
    """An event the log must not hold: unknown action or outcome, oversized or forbidden details."""

    default_detail = "invalid audit event"


class NoteError(AuditError, ValueError):
    """A signed note or a verifier key is malformed, or its signature does not verify."""

    default_detail = "invalid signed note"


class AuditRangeError(AuditError, ValueError):
    """A position, tree size or range outside the log (the caller asked for something that does not exist)."""

    default_detail = "outside the audit log"


class AuditNotFound(AuditError, LookupError):
    """Nothing to answer with: no checkpoint yet, an unknown queue id, a tile beyond the tree."""

    default_detail = "not in the audit log"


class AuditUnavailable(AuditError):
    """The log could not be written or read; callers fail closed (the service answers 503)."""

    default_detail = "the audit log is unavailable"


class AuditConflict(AuditUnavailable):
    """Another writer took the same sequence number; the integration batch is lost and is retried whole."""

    default_detail = "conflicting concurrent audit write"
