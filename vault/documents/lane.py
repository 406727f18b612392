"""The owner's audited metadata read, answered before the web framework's per-request machinery.

`GET /api/v1/documents/{id}` by the document's owner is the service's most frequent call. Through Litestar it
costs several times its own work: routing, guards (a handler copy per guard), dependency injection, the signature
model, response building and four middleware layers. `OwnerReadLane` sits in front of the app and answers that
one case itself with what the route would answer (the same body, headers, metrics and audit entry), in one
precompiled query and one group-committed queue row.

It answers only when every fact is at hand: a GET of exactly that path with no query, a token the validator
accepted before and still accepts (`auth.TokenValidator.recall`), a caller with the citizen or agency role who
owns the document, and the owner's pseudonym in this process's cache. Anything else (another route, a first or
invalid token, a grantee, a missing document, a database or audit failure) goes on to the app unchanged, which
authenticates, authorises, records and answers it as always: the lane never denies, and answers nothing it
has not recorded (fail closed, like the route).
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from litestar.enums import ScopeType
from litestar.plugins.prometheus import PrometheusConfig, PrometheusMiddleware
from litestar.serialization import encode_json
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy.ext.asyncio import AsyncEngine

from vault.audit.actions import AuditAction, Outcome
from vault.container import ServiceSlot
from vault.core.errors import VaultError
from vault.documents.owner_read import READ_ERRORS, Found, OwnerReader
from vault.documents.schemas import DocumentRead
from vault.http.security import TokenGate

__all__ = ("OwnerReadLane",)

ROUTE_TEMPLATE = "/api/v1/documents/{document_id}"
_PATH = re.compile(r"/api/v1/documents/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")
_ROLES = ("citizen", "agency")  # the route's guard

log = logging.getLogger(__name__)


class OwnerReadLane:
    """Answers an owner's `GET /api/v1/documents/{id}` in front of `app`; passes everything else to it.

    Args:
        app: the vault's ASGI app (the framework, with its middleware).
        slot: the started app's services (until they are filled, everything goes to `app`).
        gate: the authentication middleware's token gate.
        metrics: the Prometheus configuration the app's middleware records with (the lane records the same series).
    """

    def __init__(self, app: ASGIApp, slot: ServiceSlot, gate: TokenGate, metrics: PrometheusConfig) -> None:
        self.app = app
        self._reader: OwnerReader | None = None
        self._slot = slot
        self._gate = gate
        recorder = PrometheusMiddleware(app, metrics)  # its metric objects are shared by every instance
        labels: dict[str, str | int | float] = {
            "method": "GET",
            "path": ROUTE_TEMPLATE,
            "status_code": 200,
            "app_name": metrics.app_name,
        }
        values = [str(value) for value in labels.values()]
        self._in_progress = recorder.requests_in_progress(labels).labels(*values)
        self._count = recorder.request_count(labels).labels(*values)
        self._time = recorder.request_time(labels).labels(*values)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] != "GET" or scope["query_string"]:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        match = _PATH.fullmatch(scope["path"])
        body = await self._answer(scope, uuid.UUID(match[1])) if match else None
        if body is None:
            await self.app(scope, receive, send)
            return
        scope["path_template"] = ROUTE_TEMPLATE  # what Litestar's router sets: the trace names the route by it
        self._in_progress.inc()
        try:
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": False})
        finally:
            self._in_progress.dec()
            self._count.inc()
            self._time.observe(time.perf_counter() - started)

    async def _answer(self, scope: Scope, document_id: uuid.UUID) -> bytes | None:
        """The body of the answer, once its read is recorded; None to leave the request to the app."""
        authorization = next((value for name, value in scope["headers"] if name == b"authorization"), None)
        caller = await self._gate.recall(authorization)
        services = self._slot.current
        if caller is None or services is None or not caller.has_role(*_ROLES):
            return None
        try:
            row = await self._read_row(services.db.engine, document_id)
        except READ_ERRORS:  # the database did not answer: the app answers (503 if it cannot either)
            log.debug("the owner read lane left a request to the app", exc_info=True)
            return None
        if row is None or row.issuer != caller.issuer or row.subject != caller.subject:
            return None
        # the owner is the caller: one pseudonym for both (the route computes the same one twice)
        ref = services.trail.pseudonyms.cached(row.owner_id)
        if ref is None:
            return None
        entry = services.trail.entry(
            AuditAction.DOCUMENT_READ, Outcome.SUCCESS, caller, actor_ref=ref, owner_ref=ref, document_id=document_id
        )
        try:
            await services.trail.record_now(entry)
        except VaultError:  # not recorded: the app tries again and answers 503 if it fails too
            return None
        return encode_json(_read(document_id, row))

    async def _read_row(self, engine: AsyncEngine, document_id: uuid.UUID) -> Found | None:
        reader = self._reader
        if reader is None or reader.engine is not engine:  # a restarted app has a new engine
            await self.close()
            reader = self._reader = OwnerReader(engine)
        return await reader.row(document_id)

    async def close(self) -> None:
        """Close the lane's own database connections (the app's shutdown)."""
        reader, self._reader = self._reader, None
        if reader is not None:
            await reader.close()


def _read(document_id: uuid.UUID, row: Found) -> DocumentRead:
    return DocumentRead(
        id=document_id,
        title=row.title,
        kind=row.kind,
        media_type=row.media_type,
        size=row.size,
        sha256=row.sha256,
        version=row.number,
        versions=row.versions,
        issued=row.issuer_agency is not None,
        issuer=row.issuer_agency,
        created_at=row.created_at,
        updated_at=row.updated_at,
        owned=True,
        filename=row.filename,
    )
