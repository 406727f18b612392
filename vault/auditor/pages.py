"""The auditor in the browser: the log (filtered by action and date, a page at a time), checkpoints, proofs and the
export bundle as downloads. Every read is itself recorded in the log, as through the API."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.response import Stream

from vault.audit.actions import AuditAction, Outcome
from vault.audit.log import Checkpoint, Entry
from vault.audit.service import AuditService
from vault.core.errors import BadRequest
from vault.web.i18n import gettext_
from vault.web.portal import Portal, PortalPages

__all__ = ("AuditPages",)

PAGE_SIZE = 25
MAX_SEQ = 2**53
_DOWNLOAD = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _download(body: Any, filename: str) -> Response[bytes]:
    content = json.dumps(body, indent=2).encode()
    headers = {**_DOWNLOAD, "Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(content, media_type="application/json", headers=headers)


def _day(value: str) -> date | None:
    """A `YYYY-MM-DD` form value; None when empty; BadRequest when it is not a date."""
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise BadRequest("not a date") from exc


def _number(value: str | None, *, default: int = 0) -> int:
    text = (value or "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) > MAX_SEQ:
        raise BadRequest("not a position in the log")
    return int(text)


def outcome_names() -> dict[str, str]:
    """Outcomes as a person reads them, in the current language."""
    return {
        Outcome.SUCCESS.value: gettext_("Done"),
        Outcome.DENIED.value: gettext_("Refused"),
        Outcome.FAILED.value: gettext_("Failed"),
    }


def role_names() -> dict[str, str]:
    """The roles an actor acts in, as a person reads them, in the current language."""
    return {
        "citizen": gettext_("Citizen"),
        "agency": gettext_("Agency officer"),
        "auditor": gettext_("Auditor"),
        "admin": gettext_("Administrator"),
    }


class _Filters:
    """The log page's query: action, dates (inclusive) and where the page starts."""

    def __init__(self, query: Any) -> None:
        self.action = str(query.get("action") or "")
        self.since_text = str(query.get("from") or "")
        self.until_text = str(query.get("to") or "")
        self.errors: list[str] = []
        self.start = 0
        if self.action not in {a.value for a in AuditAction}:
            self.action = ""
        try:
            self.start = _number(query.get("start"))
        except BadRequest:
            self.errors.append(gettext_("The page asked for is not in the log."))
        self.since = self._date(self.since_text, gettext_("Enter the first day as a date, like 2026-11-30."))
        until = self._date(self.until_text, gettext_("Enter the last day as a date, like 2026-11-30."))
        self.until = until + timedelta(days=1) if until else None  # the last day is included
        if self.since and self.until and self.since >= self.until:
            self.errors.append(gettext_("The first day must be on or before the last day."))

    def _date(self, value: str, message: str) -> datetime | None:
        try:
            day = _day(value)
        except BadRequest:
            self.errors.append(message)
            return None
        return None if day is None else datetime.combine(day, time(), tzinfo=UTC)

    def link(self, start: int) -> str:
        """The log page starting at `start` with the same filters."""
        query = {"action": self.action, "from": self.since_text, "to": self.until_text, "start": str(start)}
        return "/auditor?" + urlencode({k: v for k, v in query.items() if v and v != "0"})


def _row(entry: Entry) -> dict[str, Any]:
    record = entry.record
    actor = record.get("actor") or {}
    objects = record.get("objects") or {}
    return {
        "seq": entry.seq,
        "time": entry.time,
        "action": record.get("action", ""),
        "outcome": record.get("outcome", ""),
        "role": actor.get("role"),
        "agency": actor.get("agency"),
        "document": objects.get("document"),
    }


def _checkpoint(checkpoint: Checkpoint | None) -> dict[str, Any] | None:
    if checkpoint is None:
        return None
    return {
        "tree_size": checkpoint.tree_size,
        "root_hash": _b64(checkpoint.root_hash),
        "note": checkpoint.note,
        "created_at": checkpoint.created_at.isoformat(),
    }


class AuditPages(PortalPages):
    """`/auditor`: the log, checkpoints, proofs and the export, for auditors."""

    path = "/auditor"

    @get("/", cache=False)
    async def log(self, portal: NamedDependency[Portal], audit: NamedDependency[AuditService]) -> Response[Any]:
        """The log, oldest first from a position, filtered by action and by day."""
        if (refused := portal.refuse("auditor")) is not None:
            return refused
        filters = _Filters(portal.request.query_params)
        rows: list[dict[str, Any]] = []
        more = False
        if not filters.errors:
            found = await audit.entries(
                portal.caller,
                start=filters.start,
                limit=PAGE_SIZE + 1,
                action=filters.action or None,
                since=filters.since,
                until=filters.until,
            )
            more = len(found) > PAGE_SIZE
            rows = [_row(entry) for entry in found[:PAGE_SIZE]]
        return portal.render(
            "auditor_log.html",
            status_code=400 if filters.errors else 200,
            errors=filters.errors,
            filters=filters,
            actions=sorted(a.value for a in AuditAction),
            outcomes=outcome_names(),
            roles=role_names(),
            rows=rows,
            next_link=filters.link(rows[-1]["seq"] + 1) if more and rows else None,
            first_link=filters.link(0) if filters.start else None,
        )

    @get("/checkpoints", cache=False)
    async def checkpoints(self, portal: NamedDependency[Portal], audit: NamedDependency[AuditService]) -> Response[Any]:
        """The newest signed checkpoint, the kept ones, and the forms for a consistency proof and the export."""
        if (refused := portal.refuse("auditor")) is not None:
            return refused
        latest, kept = await audit.checkpoints(portal.caller)
        return portal.render(
            "auditor_checkpoints.html",
            latest=_checkpoint(latest),
            kept=[_checkpoint(c) for c in reversed(kept)],
            kept_now=portal.request.query_params.get("kept"),
        )

    @post("/checkpoints", status_code=303)
    async def keep_checkpoint(
        self, portal: NamedDependency[Portal], audit: NamedDependency[AuditService]
    ) -> Response[Any]:
        """Keep a checkpoint of the log as it is now."""
        if isinstance(form := await portal.posted_form("auditor"), Response):
            return form
        kept = await audit.keep_checkpoint(portal.caller)
        return portal.redirect(f"/auditor/checkpoints?kept={kept.tree_size}")

    @get("/proofs/inclusion", cache=False)
    async def inclusion(self, portal: NamedDependency[Portal], audit: NamedDependency[AuditService]) -> Response[Any]:
        """The entry, the newest checkpoint and the proof that one is in the other, as a JSON download."""
        if (refused := portal.refuse("auditor")) is not None:
            return refused
        seq = _number(portal.request.query_params.get("seq"))
        entry, head, proof = await audit.inclusion_evidence(portal.caller, seq)
        body = {
            "kind": "inclusion",
            "seq": entry.seq,
            "tree_size": head.tree_size,
            "entry": _b64(entry.canonical),
            "leaf_hash": _b64(entry.leaf_hash),
            "hashes": [_b64(h) for h in proof],
            "checkpoint": _checkpoint(head),
        }
        return _download(body, f"inclusion-proof-{entry.seq}-{head.tree_size}.json")

    @get("/proofs/consistency", cache=False)
    async def consistency(self, portal: NamedDependency[Portal], audit: NamedDependency[AuditService]) -> Response[Any]:
        """The proof that the log of `second` entries (the newest checkpoint's when not given) extends the log of
        `first`, as a JSON download."""
        if (refused := portal.refuse("auditor")) is not None:
            return refused
        query = portal.request.query_params
        first = _number(query.get("first"))
        second = _number(query.get("second")) if (query.get("second") or "").strip() else None
        second, proof, signed = await audit.consistency_evidence(portal.caller, first, second)
        body = {
            "kind": "consistency",
            "first": first,
            "second": second,
            "hashes": [_b64(h) for h in proof],
            "first_checkpoint": _checkpoint(signed.get(first)),
            "second_checkpoint": _checkpoint(signed.get(second)),
        }
        return _download(body, f"consistency-proof-{first}-{second}.json")

    @get("/export", cache=False)
    async def export(self, portal: NamedDependency[Portal], audit: NamedDependency[AuditService]) -> Response[Any]:
        """The bundle `vault audit verify` checks offline (public key, checkpoints, proofs, entries), streamed."""
        if (refused := portal.refuse("auditor")) is not None:
            return refused
        chunks = await audit.export(portal.caller)
        headers = {**_DOWNLOAD, "Content-Disposition": 'attachment; filename="audit-export.json"'}
        response: Stream = Stream(chunks, media_type="application/json", headers=headers)
        return response

    @get("/key", cache=False)
    async def key(self, portal: NamedDependency[Portal], audit: NamedDependency[AuditService]) -> Response[Any]:
        """The log's checkpoint verifier key, for `vault audit verify --key` (pin it somewhere safe)."""
        if (refused := portal.refuse("auditor")) is not None:
            return refused
        origin, verifier = await audit.key()
        return _download({"origin": origin, "note_verifier": verifier}, "audit-log-key.json")
