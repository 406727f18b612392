"""The citizen's access log: every audit entry naming their owner pseudonym, newest first."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from vault.audit.entry import parse_time
from vault.audit.models import AuditEntryRow
from vault.database import Database
from vault.documents.service import DocumentService
from vault.errors import IntegrityFailure
from vault.principal import Caller
from vault.sharing.ownership import caller_account
from vault.sharing.schemas import AccessActor, AccessLogEntry, AccessLogPage

__all__ = ("AccessLogService",)

MAX_PAGE = 100


def _entry(canonical: bytes) -> AccessLogEntry:
    """An entry read from its canonical bytes (the evidence), not from the filter columns."""
    record: dict[str, Any] = json.loads(canonical)
    actor, objects = record.get("actor") or {}, record.get("objects") or {}
    return AccessLogEntry(
        seq=int(record["seq"]),
        time=parse_time(record["time"]),
        action=record["action"],
        outcome=record["outcome"],
        actor=AccessActor(subject=actor.get("subject"), role=actor.get("role"), agency=actor.get("agency")),
        document_id=objects.get("document"),
        grant_id=objects.get("grant"),
        request_id=objects.get("request"),
        link_id=objects.get("link"),
        purpose=record.get("purpose"),
    )


class AccessLogService:
    """Reads the audit entries about one owner's data."""

    def __init__(self, db: Database, documents: DocumentService) -> None:
        self._db = db
        self._documents = documents

    async def for_owner(self, caller: Caller, cursor: int | None, limit: int) -> AccessLogPage:
        """Entries whose owner is the caller, newest first; `cursor` is the last `seq` already seen."""
        limit = max(1, min(limit, MAX_PAGE))
        async with self._db.transaction() as session:
            account = await caller_account(session, caller)
            if account is None:
                return AccessLogPage(items=[], next_cursor=None)
            try:
                owner_ref = await self._documents.owner_ref(session, account.id)
            except IntegrityFailure:  # no subject key yet: nothing was ever stored or shared
                return AccessLogPage(items=[], next_cursor=None)
            query = select(AuditEntryRow.canonical).where(AuditEntryRow.owner_ref == owner_ref)
            if cursor is not None:
                query = query.where(AuditEntryRow.seq < cursor)
            rows = list(await session.scalars(query.order_by(AuditEntryRow.seq.desc()).limit(limit + 1)))
        more, rows = len(rows) > limit, rows[:limit]
        items = [_entry(bytes(row)) for row in rows]
        return AccessLogPage(items=items, next_cursor=items[-1].seq if more and items else None)
