"""The citizen's access log: every audit entry naming their owner pseudonym, newest first."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from sqlalchemy import select

from vault.access_log.schemas import AccessActor, AccessLogEntry, AccessLogPage
from vault.accounts.pseudonyms import PseudonymService
from vault.accounts.repository import AccountRepository
from vault.audit.entry import parse_time
from vault.audit.errors import AuditUnavailable
from vault.audit.models import AuditEntryRow
from vault.audit.recorder import AuditRecorder
from vault.core.database import Database
from vault.core.errors import IntegrityFailure
from vault.core.paging import clamp_limit
from vault.core.principal import Caller

__all__ = ("AccessLogService",)


def _entry(canonical: bytes, owner: Caller, owner_ref: str) -> AccessLogEntry:
    """An entry read from its canonical bytes (the evidence), not from the filter columns. Actors are pseudonyms;
    the owner's own actions carry the owner's pseudonym, so they are shown as the owner's."""
    record: dict[str, Any] = json.loads(canonical)
    actor, objects = record.get("actor") or {}, record.get("objects") or {}
    subject = owner.subject if actor.get("ref") == owner_ref else actor.get("subject")
    return AccessLogEntry(
        seq=int(record["seq"]),
        time=parse_time(record["time"]),
        action=record["action"],
        outcome=record["outcome"],
        actor=AccessActor(subject=subject, role=actor.get("role"), agency=actor.get("agency")),
        document_id=objects.get("document"),
        grant_id=objects.get("grant"),
        request_id=objects.get("request"),
        link_id=objects.get("link"),
        purpose=record.get("purpose"),
    )


class AccessLogService:
    """Reads the audit entries about one owner's data."""

    def __init__(self, db: Database, pseudonyms: PseudonymService, recorder: AuditRecorder | None = None) -> None:
        self._db = db
        self._pseudonyms = pseudonyms
        self._recorder = recorder

    async def for_owner(self, caller: Caller, cursor: int | None, limit: int) -> AccessLogPage:
        """Entries whose owner is the caller, newest first; `cursor` is the last `seq` already seen."""
        limit = clamp_limit(limit)
        if self._recorder is not None:  # what the citizen did a moment ago is in their log (best effort)
            with contextlib.suppress(AuditUnavailable):
                await self._recorder.integrator.settle(within=2.0)
        async with self._db.transaction() as session:
            account = await AccountRepository(session).of(caller)
            if account is None:
                return AccessLogPage(items=[], next_cursor=None)
            try:
                owner_ref = await self._pseudonyms.of(session, account.id)
            except IntegrityFailure:  # no subject key yet: nothing was ever stored or shared
                return AccessLogPage(items=[], next_cursor=None)
            query = select(AuditEntryRow.canonical).where(AuditEntryRow.owner_ref == owner_ref)
            if cursor is not None:
                query = query.where(AuditEntryRow.seq < cursor)
            rows = list(await session.scalars(query.order_by(AuditEntryRow.seq.desc()).limit(limit + 1)))
        more, rows = len(rows) > limit, rows[:limit]
        items = [_entry(bytes(row), caller, owner_ref) for row in rows]
        return AccessLogPage(items=items, next_cursor=items[-1].seq if more and items else None)
