"""The tamper-evident audit log: RFC 9162 Merkle tree, signed checkpoints, offline verification."""

from vault.audit.entry import AuditEvent
from vault.audit.log import (
    AuditConflict,
    AuditLog,
    AuditUnavailable,
    Checkpoint,
    Entry,
    run_periodic_checkpoints,
)
from vault.audit.note import generate_signing_key, public_key_note_verifier
from vault.audit.pseudonym import derive_pseudonym_key, owner_pseudonym
from vault.audit.verify import BundleVerdict, verify_bundle

__all__ = (
    "AuditConflict",
    "AuditEvent",
    "AuditLog",
    "AuditUnavailable",
    "BundleVerdict",
    "Checkpoint",
    "Entry",
    "derive_pseudonym_key",
    "generate_signing_key",
    "owner_pseudonym",
    "public_key_note_verifier",
    "run_periodic_checkpoints",
    "verify_bundle",
)
