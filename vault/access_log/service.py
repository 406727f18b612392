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
from vault.audit.errors import AuditNotFound, AuditUnavailable
from vault.audit.log import Entry
from vault.audit.models import AuditEntryRow
from vault.audit.receipts import build_receipt
from vault.audit.recorder import AuditRecorder
from vault.core.database import Database
from vault.core.errors import AuditUnavailableError, Conflict, IntegrityFailure, NotFound
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

    async def receipt(self, caller: Caller, seq: int) -> dict[str, Any]:
        """Entry `seq` of the caller's access log with its inclusion proof against the latest signed checkpoint
        (404 unless the entry is about the caller's data; 409 while no checkpoint covers it yet)."""
        if self._recorder is None:
            raise AuditUnavailableError()
        try:
            log = await self._recorder.log()
            with contextlib.suppress(AuditUnavailable):
                await self._recorder.integrator.settle(within=2.0)
            async with self._db.transaction() as session:
                account = await AccountRepository(session).of(caller)
                if account is None:
                    raise NotFound("no such entry in your access log")
                try:
                    owner_ref = await self._pseudonyms.of(session, account.id)
                except IntegrityFailure as exc:
                    raise NotFound("no such entry in your access log") from exc
                row = await session.scalar(
                    select(AuditEntryRow).where(AuditEntryRow.seq == seq, AuditEntryRow.owner_ref == owner_ref)
                )
                if row is None:
                    raise NotFound("no such entry in your access log")
                entry = Entry(row.seq, row.time, bytes(row.canonical), bytes(row.leaf_hash))
                return await build_receipt(log, session, entry)
        except AuditNotFound as exc:
            raise Conflict(exc.detail) from exc
        except AuditUnavailable as exc:
            raise AuditUnavailableError() from exc
