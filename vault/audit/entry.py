"""Audit events and their canonical form: the RFC 8785 JSON bytes that become a Merkle leaf.

An event is queued as its record without position and time (`queued_body`); the integrator adds both when it
sequences the entry (`sequenced_entry`), so the leaf bytes are fixed only once the entry has its place.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any
from uuid import UUID

from vault.audit.actions import AuditAction, Outcome
from vault.audit.canonical import canonical_json
from vault.audit.errors import InvalidEvent

__all__ = (
    "AuditEvent",
    "DetailValue",
    "canonical_entry",
    "event_record",
    "format_time",
    "parse_time",
    "queued_body",
    "sequenced_entry",
)

DetailValue = str | int | bool | None

_MAX_DETAILS = 16
_MAX_TEXT = 256
_MAX_SAFE_INT = 2**53 - 1  # RFC 8785 numbers are IEEE doubles
# Detail keys that would smuggle content or secrets into a log nobody can ever redact.
_FORBIDDEN_DETAIL_WORDS = ("content", "title", "filename", "file_name", "token", "password", "secret", "body")


def _empty_details() -> Mapping[str, DetailValue]:
    return MappingProxyType({})


@dataclass(frozen=True)
class AuditEvent:
    """One security-relevant action, described by opaque ids and pseudonyms only.

    Attributes:
        action: what happened.
        outcome: how it ended.
        actor_ref: the caller's pseudonym (computed like `owner_pseudonym`, so erasing the caller's account
            unlinks it), never the caller's subject.
        actor_role: the role the caller acted in.
        actor_agency: the caller's agency, for agency officers.
        client_id: the OAuth client the caller used.
        owner_ref: the pseudonym of the data owner (see `owner_pseudonym`), never the owner id itself.
        document_id: the document touched.
        version_id: the document version touched.
        grant_id: the grant used or changed.
        request_id: the agency request used or changed.
        link_id: the share link used or changed.
        purpose: the stated purpose of the access.
        details: a small flat mapping of extra facts; never content, titles, file names or tokens.
    """

    action: AuditAction
    outcome: Outcome
    actor_ref: str | None = None
    actor_role: str | None = None
    actor_agency: str | None = None
    client_id: str | None = None
    owner_ref: str | None = None
    document_id: UUID | None = None
    version_id: UUID | None = None
    grant_id: UUID | None = None
    request_id: UUID | None = None
    link_id: UUID | None = None
    purpose: str | None = None
    details: Mapping[str, DetailValue] = field(default_factory=_empty_details)

    def __post_init__(self) -> None:
        """Reject events the log must not hold (unknown action or outcome, oversized or forbidden details).

        Raises:
            InvalidEvent: naming the first problem.
        """
        try:
            object.__setattr__(self, "action", AuditAction(self.action))
            object.__setattr__(self, "outcome", Outcome(self.outcome))
        except ValueError as exc:
            raise InvalidEvent(f"unknown audit action or outcome: {exc}") from None
        for text in (
            self.actor_ref,
            self.actor_role,
            self.actor_agency,
            self.client_id,
            self.owner_ref,
            self.purpose,
        ):
            if text is not None and len(text) > _MAX_TEXT:
                raise InvalidEvent(f"audit fields hold at most {_MAX_TEXT} characters")
        _check_details(self.details)
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))


def _check_details(details: Mapping[str, Any]) -> None:
    if len(details) > _MAX_DETAILS:
        raise InvalidEvent(f"audit details hold at most {_MAX_DETAILS} keys")
    for key, value in details.items():
        if not isinstance(key, str) or not key or len(key) > 64:
            raise InvalidEvent("audit detail keys are short strings")
        if any(word in key.lower() for word in _FORBIDDEN_DETAIL_WORDS):
            raise InvalidEvent(f"audit detail {key!r} looks like content or a secret")
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int):
            if abs(value) > _MAX_SAFE_INT:
                raise InvalidEvent(f"audit detail {key!r} is out of the exact JSON number range")
        elif isinstance(value, str):
            if len(value) > _MAX_TEXT:
                raise InvalidEvent(f"audit detail {key!r} is longer than {_MAX_TEXT} characters")
        else:
            raise InvalidEvent(f"audit detail {key!r} must be a string, integer, boolean or null")


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds, e.g. `2026-11-28T11:31:08.000123Z`.

    Raises:
        InvalidEvent: for a naive datetime.
    """
    if moment.tzinfo is None:
        raise InvalidEvent("audit times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """Parse a time written by `format_time`, refusing any other shape.

    Raises:
        ValueError: when the text is not in exactly that form.
    """
    moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    if format_time(moment) != text:
        raise ValueError(f"not a canonical audit time: {text!r}")
    return moment


def _uuid(value: UUID | None) -> str | None:
    return None if value is None else str(value)


def event_record(event: AuditEvent) -> dict[str, Any]:
    """The entry record of an event, without its position (`seq`) and time."""
    return {
        "action": event.action.value,
        "outcome": event.outcome.value,
        "actor": {
            "ref": event.actor_ref,
            "role": event.actor_role,
            "agency": event.actor_agency,
            "client_id": event.client_id,
        },
        "owner": event.owner_ref,
        "objects": {
            "document": _uuid(event.document_id),
            "version": _uuid(event.version_id),
            "grant": _uuid(event.grant_id),
            "request": _uuid(event.request_id),
            "link": _uuid(event.link_id),
        },
        "purpose": event.purpose,
        "details": dict(event.details),
    }


def queued_body(event: AuditEvent) -> bytes:
    """What the queue stores for an event: its canonical record without position and time."""
    return canonical_json(event_record(event))


def sequenced_entry(seq: int, moment: datetime, body: bytes) -> tuple[bytes, dict[str, Any]]:
    """The leaf bytes of a queued body placed at `seq` at `moment`, and the decoded record."""
    record: dict[str, Any] = json.loads(body)
    time = format_time(moment)
    if record and max(record) < "seq" and body.endswith(b"}") and -_MAX_SAFE_INT <= seq <= _MAX_SAFE_INT:
        # The queue holds the canonical record without "seq" and "time", and every key it has sorts before
        # both (RFC 8785 sorts an object's keys): appending the two members keeps the bytes canonical, without
        # encoding the whole record again (a fraction of the integrator's cost per entry).
        canonical = b'%s,"seq":%d,"time":%s}' % (body[:-1], seq, json.dumps(time).encode("ascii"))
    else:
        canonical = canonical_json({**record, "seq": seq, "time": time})
    record["seq"] = seq
    record["time"] = time
    return canonical, record


def canonical_entry(seq: int, moment: datetime, event: AuditEvent) -> bytes:
    """The leaf bytes of an entry: RFC 8785 canonical JSON of the entry record.

    Args:
        seq: the entry's position in the log.
        moment: when it was appended.
        event: what happened.
    """
    record = event_record(event)
    record["seq"] = seq
    record["time"] = format_time(moment)
    return canonical_json(record)
