"""Auditor API over the transparency log: entries, checkpoints, proofs, and offline-verifiable exports."""

from __future__ import annotations

import base64
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import FromQuery, QueryParameter

from vault.audit.log import AuditUnavailable, Checkpoint
from vault.audit.note import public_key_note_verifier
from vault.core.errors import AuditUnavailableError, BadRequest, NotFound
from vault.core.principal import Caller
from vault.http.security import PUBLIC, require_roles

__all__ = ("AuditController", "audit_key")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class EntryRead(msgspec.Struct, frozen=True):
    """One log entry: its canonical form (the Merkle leaf, base64) and the decoded record."""

    seq: int
    leaf_hash: str
    canonical: str
    record: dict[str, Any]


class CheckpointRead(msgspec.Struct, frozen=True):
    """A signed tree head as a C2SP tlog-checkpoint signed note."""

    tree_size: int
    root_hash: str
    note: str
    created_at: str


class ProofRead(msgspec.Struct, frozen=True):
    """An RFC 9162 proof (base64 hashes, in verification order)."""

    kind: str
    first: int
    second: int
    hashes: list[str]


class LogKey(msgspec.Struct, frozen=True):
    """The log's checkpoint verifier key: pin it out of band and pass it to `vault audit verify --key`."""

    origin: str
    note_verifier: str


def _checkpoint_read(checkpoint: Checkpoint) -> CheckpointRead:
    return CheckpointRead(
        tree_size=checkpoint.tree_size,
        root_hash=_b64(checkpoint.root_hash),
        note=checkpoint.note,
        created_at=checkpoint.created_at.isoformat(),
    )


class AuditController(Controller):
    """The auditor's view of the transparency log. Reads are audited too."""

    path = "/api/v1/audit"
    tags = ["audit"]
    guards = [require_roles("auditor")]

    async def _run(self, state: State, request: Request[Caller, Any, Any], action: str, work: Any) -> Any:
        audit = await state.events.log()
        try:
            async with state.db.transaction() as session:
                result = await work(audit, session)
                await state.events.append(session, state.events.event(action, "success", request.user))
                return result
        except AuditUnavailable as exc:
            raise AuditUnavailableError() from exc
        except ValueError as exc:
            raise BadRequest(str(exc)) from exc

    @get("/entries")
    async def entries(
        self,
        state: State,
        request: Request[Caller, Any, Any],
        start: Annotated[int, QueryParameter(ge=0)] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        action: FromQuery[str | None] = None,
        actor: FromQuery[str | None] = None,
        document: FromQuery[uuid.UUID | None] = None,
    ) -> list[EntryRead]:
        """Entries from `start` on, oldest first, optionally filtered by action, actor subject or document."""

        async def work(audit: Any, session: Any) -> list[EntryRead]:
            rows = await audit.entries(
                session, start=start, limit=limit, action=action, actor_subject=actor, document_id=document
            )
            return [EntryRead(e.seq, _b64(e.leaf_hash), _b64(e.canonical), e.record) for e in rows]

        return await self._run(state, request, "audit.read", work)  # type: ignore[no-any-return]

    @get("/checkpoint")
    async def checkpoint(self, state: State, request: Request[Caller, Any, Any]) -> CheckpointRead:
        """The newest signed checkpoint."""

        async def work(audit: Any, session: Any) -> CheckpointRead:
            latest = await audit.latest_checkpoint(session)
            if latest is None:
                raise NotFound("no checkpoint has been signed yet; POST /api/v1/audit/checkpoints")
            return _checkpoint_read(latest)

        return await self._run(state, request, "audit.read", work)  # type: ignore[no-any-return]

    @post("/checkpoints", status_code=201, guards=[require_roles("auditor", "admin")])
    async def sign_checkpoint(self, state: State, request: Request[Caller, Any, Any]) -> CheckpointRead:
        """Sign a checkpoint of the log as it is now (on demand; the service also signs periodically)."""

        async def work(audit: Any, session: Any) -> CheckpointRead:
            return _checkpoint_read(await audit.checkpoint(session))

        return await self._run(state, request, "audit.checkpoint", work)  # type: ignore[no-any-return]

    @get("/proofs/inclusion")
    async def inclusion(
        self,
        state: State,
        request: Request[Caller, Any, Any],
        seq: Annotated[int, QueryParameter(ge=0)],
        size: Annotated[int, QueryParameter(ge=1)],
    ) -> ProofRead:
        """The inclusion proof of entry `seq` in the tree of `size` entries."""
        if seq >= size:
            raise BadRequest("seq must be smaller than size")

        async def work(audit: Any, session: Any) -> ProofRead:
            hashes = await audit.inclusion_proof(session, seq, size)
            return ProofRead("inclusion", seq, size, [_b64(h) for h in hashes])

        return await self._run(state, request, "audit.read", work)  # type: ignore[no-any-return]

    @get("/proofs/consistency")
    async def consistency(
        self,
        state: State,
        request: Request[Caller, Any, Any],
        first: Annotated[int, QueryParameter(ge=0)],
        second: Annotated[int, QueryParameter(ge=1)],
    ) -> ProofRead:
        """The consistency proof between tree sizes `first` and `second`."""
        if first > second:
            raise BadRequest("first must not exceed second")

        async def work(audit: Any, session: Any) -> ProofRead:
            hashes = await audit.consistency_proof(session, first, second)
            return ProofRead("consistency", first, second, [_b64(h) for h in hashes])

        return await self._run(state, request, "audit.read", work)  # type: ignore[no-any-return]

    @get("/export")
    async def export(
        self,
        state: State,
        request: Request[Caller, Any, Any],
        start: Annotated[int, QueryParameter(ge=0)] = 0,
        end: Annotated[int | None, QueryParameter(ge=0)] = None,
    ) -> dict[str, Any]:
        """A bundle for `vault audit verify`: public key, checkpoints, entries and proofs."""

        async def work(audit: Any, session: Any) -> dict[str, Any]:
            return await audit.export_bundle(session, start=start, end=end)  # type: ignore[no-any-return]

        return await self._run(state, request, "audit.export", work)  # type: ignore[no-any-return]


@get("/api/v1/audit/key", opt=PUBLIC, tags=["audit"])
async def audit_key(state: State) -> LogKey:
    """The log's checkpoint verifier key (public: anyone may pin it)."""
    audit = await state.events.log()
    return LogKey(origin=audit.origin, note_verifier=public_key_note_verifier(audit.origin, audit.signing_key))
