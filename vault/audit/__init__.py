"""The tamper-evident audit log: a queue every service appends to, an integrator that sequences it into an
RFC 9162 Merkle tree with signed checkpoints, the C2SP tlog-tiles view, and offline verification.

Only the pure parts are re-exported here (importing them loads no database or web library), so the offline
verifier stays light. The database side lives in `vault.audit.log`, `.recorder`, `.integrator`, `.service`,
`.export` and `.controllers`.
"""

from vault.audit.actions import AuditAction, Outcome
from vault.audit.entry import AuditEvent
from vault.audit.errors import (
    AuditConflict,
    AuditError,
    AuditNotFound,
    AuditRangeError,
    AuditUnavailable,
    InvalidEvent,
    NoteError,
)
from vault.audit.note import generate_signing_key, public_key_note_verifier
from vault.audit.pseudonym import derive_pseudonym_key, owner_pseudonym
from vault.audit.verify import BundleVerdict, verify_bundle

__all__ = (
    "AuditAction",
    "AuditConflict",
    "AuditError",
    "AuditEvent",
    "AuditNotFound",
    "AuditRangeError",
    "AuditUnavailable",
    "BundleVerdict",
    "InvalidEvent",
    "NoteError",
    "Outcome",
    "derive_pseudonym_key",
    "generate_signing_key",
    "owner_pseudonym",
    "public_key_note_verifier",
    "verify_bundle",
)
