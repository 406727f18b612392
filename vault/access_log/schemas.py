"""What the sharing APIs read and return. Bodies forbid unknown fields, so `owner`, `issuer`, `subject` and
friends cannot be smuggled in (mass assignment answers 400)."""

from __future__ import annotations

from datetime import datetime

import msgspec

__all__ = ("AccessActor", "AccessLogEntry", "AccessLogPage")


class AccessActor(msgspec.Struct, frozen=True):
    """Who acted, in a role, for an agency if an officer; all None for a link holder. `subject` is the caller's own
    when they acted themselves; other people appear only by role and agency (the log keeps pseudonyms)."""

    subject: str | None
    role: str | None
    agency: str | None


class AccessLogEntry(msgspec.Struct, frozen=True):
    """One audit entry touching the caller's data."""

    seq: int
    time: datetime
    action: str
    outcome: str
    actor: AccessActor
    document_id: str | None
    grant_id: str | None
    request_id: str | None
    link_id: str | None
    purpose: str | None


class AccessLogPage(msgspec.Struct, frozen=True):
    """Entries newest first; pass `next_cursor` back as `cursor` (a sequence number) for older ones."""

    items: list[AccessLogEntry]
    next_cursor: int | None
