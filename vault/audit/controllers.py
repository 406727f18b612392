"""HTTP for the audit log: the auditor API (`/api/v1/audit`) and the C2SP tlog-tiles view (`/audit/`).

Thin: each handler parses its input, calls one `AuditService` method and returns a schema.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, Parameter, QueryParameter
from litestar.response import Stream

from vault.audit.schemas import CheckpointRead, EntryRead, LogKey, ProofRead, QueueStatusRead
from vault.audit.service import AuditService
from vault.core.errors import BadRequest
from vault.core.principal import Caller
from vault.http.security import PUBLIC, require_roles

__all__ = ("AuditController", "TilesController", "audit_key")

MAX_SEQ = 2**53  # sequence numbers, sizes and queue ids fit SQLite's and PostgreSQL's 64-bit integers

_AUDITOR = [require_roles("auditor")]
_IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}


class AuditController(Controller):
    """The auditor's view of the transparency log. Reads are audited too."""

    path = "/api/v1/audit"
    tags = ["audit"]

    @get("/entries", guards=_AUDITOR)
    async def entries(
        self,
        request: Request[Caller, Any, Any],
        audit: NamedDependency[AuditService],
        start: Annotated[int, QueryParameter(ge=0, le=MAX_SEQ)] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        action: FromQuery[str | None] = None,
        actor: FromQuery[str | None] = None,
        document: FromQuery[uuid.UUID | None] = None,
    ) -> list[EntryRead]:
        """Sequenced entries from `start` on, oldest first, filtered by action, actor pseudonym or document."""
        found = await audit.entries(
            request.user, start=start, limit=limit, action=action, actor_ref=actor, document_id=document
        )
        return [EntryRead.of(entry) for entry in found]

    @get("/checkpoint", guards=_AUDITOR)
    async def checkpoint(
        self, request: Request[Caller, Any, Any], audit: NamedDependency[AuditService]
    ) -> CheckpointRead:
        """The newest signed checkpoint."""
        return CheckpointRead.of(await audit.latest_checkpoint(request.user))

    @post("/checkpoints", status_code=201, guards=[require_roles("auditor", "admin")])
    async def keep_checkpoint(
        self, request: Request[Caller, Any, Any], audit: NamedDependency[AuditService]
    ) -> CheckpointRead:
        """Keep a checkpoint of the log as it is now (on demand; the integrator also keeps one periodically)."""
        return CheckpointRead.of(await audit.keep_checkpoint(request.user))

    @get("/proofs/inclusion", guards=_AUDITOR)
    async def inclusion(
        self,
        request: Request[Caller, Any, Any],
        audit: NamedDependency[AuditService],
        seq: Annotated[int, QueryParameter(ge=0, le=MAX_SEQ)],
        size: Annotated[int, QueryParameter(ge=1, le=MAX_SEQ)],
    ) -> ProofRead:
        """The inclusion proof of entry `seq` in the tree of `size` entries."""
        if seq >= size:
            raise BadRequest("seq must be smaller than size")
        return ProofRead.of("inclusion", seq, size, await audit.inclusion_proof(request.user, seq, size))

    @get("/proofs/consistency", guards=_AUDITOR)
    async def consistency(
        self,
        request: Request[Caller, Any, Any],
        audit: NamedDependency[AuditService],
        first: Annotated[int, QueryParameter(ge=0, le=MAX_SEQ)],
        second: Annotated[int, QueryParameter(ge=1, le=MAX_SEQ)],
    ) -> ProofRead:
        """The consistency proof between tree sizes `first` and `second`."""
        if first > second:
            raise BadRequest("first must not exceed second")
        return ProofRead.of("consistency", first, second, await audit.consistency_proof(request.user, first, second))

    @get("/queue/{queue_id:int}", guards=_AUDITOR)
    async def queued(
        self,
        request: Request[Caller, Any, Any],
        audit: NamedDependency[AuditService],
        queue_id: Annotated[int, Parameter(ge=1, le=MAX_SEQ)],
    ) -> QueueStatusRead:
        """Whether the entry accepted under `queue_id` is sequenced yet ("accepted, not yet sequenced")."""
        return QueueStatusRead.of(await audit.status(request.user, queue_id))

    @get("/export", guards=_AUDITOR)
    async def export(
        self,
        request: Request[Caller, Any, Any],
        audit: NamedDependency[AuditService],
        start: Annotated[int, QueryParameter(ge=0, le=MAX_SEQ)] = 0,
        end: Annotated[int | None, QueryParameter(ge=0, le=MAX_SEQ)] = None,
    ) -> Stream:
        """A bundle for `vault audit verify` (public key, checkpoints, proofs, entries), streamed."""
        chunks = await audit.export(request.user, start=start, end=end)
        return Stream(chunks, media_type="application/json")


@get("/api/v1/audit/key", opt=PUBLIC, tags=["audit"])
async def audit_key(audit: NamedDependency[AuditService]) -> LogKey:
    """The log's checkpoint verifier key (public: anyone may pin it)."""
    origin, verifier = await audit.key()
    return LogKey(origin=origin, note_verifier=verifier)


class TilesController(Controller):
    """The log as C2SP tlog-tiles: checkpoint and hash tiles are public; entry bundles are for auditors."""

    path = "/audit"
    tags = ["audit"]

    @get("/checkpoint", opt=PUBLIC, media_type="text/plain; charset=utf-8")
    async def published_checkpoint(self, audit: NamedDependency[AuditService]) -> Response[str]:
        """The latest signed checkpoint (C2SP tlog-checkpoint)."""
        return Response(await audit.published_checkpoint(), headers={"Cache-Control": "no-cache"})

    @get("/tile/entries/{path:path}", guards=_AUDITOR, media_type="application/octet-stream")
    async def entry_bundle(
        self, request: Request[Caller, Any, Any], audit: NamedDependency[AuditService], path: FromPath[str]
    ) -> Response[bytes]:
        """An entry bundle: the entries' leaf bytes, each after its big-endian u16 length."""
        content = await audit.entry_bundle(request.user, path)
        return Response(content, headers={"Cache-Control": "private, max-age=31536000, immutable"})

    @get("/tile/{path:path}", opt=PUBLIC, media_type="application/octet-stream")
    async def hash_tile(self, audit: NamedDependency[AuditService], path: FromPath[str]) -> Response[bytes]:
        """A hash tile `<L>/<N>[.p/<W>]`: the hashes of tree level 8L, 32 bytes each (immutable)."""
        return Response(await audit.tile(path), headers=_IMMUTABLE)
