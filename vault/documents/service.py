"""The rules of documents: upload, versions, listing, reading, downloading and erasure (crypto-shredding)."""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession

from vault.accounts.directory import AccountDirectory
from vault.accounts.keys import KeyService
from vault.accounts.repository import AccountRepository
from vault.accounts.trail import AuditTrail, Detail
from vault.audit.actions import AuditAction, Outcome
from vault.audit.entry import AuditEvent
from vault.core.clock import Clock
from vault.core.database import Database
from vault.core.errors import (
    Conflict,
    IntegrityFailure,
    NotFound,
    PayloadTooLarge,
    UnprocessableContent,
    VaultError,
)
from vault.core.paging import clamp_limit, split_page
from vault.core.principal import Caller
from vault.documents.access import Access, AccessPolicy, Permission
from vault.documents.content import Content, ContentVault, IncomingContent, resolve_range
from vault.documents.models import Document, DocumentVersion
from vault.documents.repository import DocumentRepository, load_with_owner
from vault.documents.schemas import DocumentPage, DocumentRead, DocumentUpdate, NewDocument, VersionRead
from vault.documents.views import document_read, version_read

__all__ = ("DocumentService",)


@dataclass
class _Denied(Exception):
    """The caller may not touch the document: recorded after the transaction ends, answered as 404."""

    owner_ref: str | None
    actor_ref: str | None


class DocumentService:
    """Documents of one deployment: metadata in the database, encrypted content in the object store."""

    def __init__(
        self,
        db: Database,
        content: ContentVault,
        keys: KeyService,
        trail: AuditTrail,
        access: AccessPolicy,
        clock: Clock,
        kinds: frozenset[str] = frozenset({"other"}),
    ) -> None:
        self._db = db
        self.kinds = kinds
        self.content = content
        self._keys = keys
        self._trail = trail
        self._access = access
        self._clock = clock

    # ----- authorisation ----------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def authorised_unit(
        self, caller: Caller, document_id: uuid.UUID, action: AuditAction
    ) -> AsyncIterator[AsyncSession]:
        """A unit of work in which `authorise` may deny: a denial is recorded after it ends (one more
        connection, never two at once) and answered as 404, like a document that does not exist."""
        try:
            async with self._db.transaction() as session:
                yield session
        except _Denied as denied:
            await self._trail.record_now(
                self._trail.entry(
                    action,
                    Outcome.DENIED,
                    caller,
                    actor_ref=denied.actor_ref,
                    owner_ref=denied.owner_ref,
                    document_id=document_id,
                )
            )
            raise NotFound("no such document") from None

    async def authorise(
        self, session: AsyncSession, caller: Caller, document_id: uuid.UUID, permission: Permission
    ) -> tuple[Document, Access]:
        """The document and the caller's access to it (inside `authorised_unit`)."""
        found = await load_with_owner(session, document_id)  # one query, with the owner
        owner_ref = None
        if found is not None:
            document, issuer, subject = found
            if issuer == caller.issuer and subject == caller.subject:
                return document, Access(as_owner=True)
            if permission is not Permission.MANAGE:
                access = await self._access.non_owner_access(session, caller, document, permission)
                if access is not None:
                    return document, access
            with contextlib.suppress(IntegrityFailure):
                owner_ref = await self._trail.pseudonyms.of(session, document.owner_id)
        raise _Denied(owner_ref, await self._trail.actor_ref(session, caller))

    async def access_event(
        self,
        session: AsyncSession,
        action: AuditAction,
        caller: Caller,
        document: Document,
        access: Access,
        version: DocumentVersion | None = None,
        details: Mapping[str, Detail] | None = None,
    ) -> None:
        """Record a successful access in the caller's transaction (fail closed)."""
        await self._trail.record(
            session, await self.access_entry(session, action, caller, document, access, version, details)
        )

    async def access_entry(
        self,
        session: AsyncSession,
        action: AuditAction,
        caller: Caller,
        document: Document,
        access: Access,
        version: DocumentVersion | None = None,
        details: Mapping[str, Detail] | None = None,
    ) -> AuditEvent:
        """The entry of a successful access (pseudonyms looked up in `session`), not yet recorded."""
        return await self._trail.event(
            session,
            action,
            Outcome.SUCCESS,
            caller,
            owner_id=document.owner_id,
            document_id=document.id,
            version_id=version.id if version else None,
            grant_id=access.grant_id,
            request_id=access.request_id,
            purpose=access.purpose,
            details=details,
        )

    def check_kind(self, kind: str) -> str:
        """`kind` if it is in the configured vocabulary; else 422 listing the vocabulary."""
        if kind not in self.kinds:
            raise UnprocessableContent(f"unknown kind {kind[:64]!r}; use one of {', '.join(sorted(self.kinds))}")
        return kind

    # ----- writing ----------------------------------------------------------------------------------------

    async def upload(self, caller: Caller, meta: NewDocument, content: IncomingContent) -> DocumentRead:
        """Stream-encrypt a new document into the caller's own vault."""
        return await self.create_document(caller, caller.subject, meta, content)

    async def create_document(
        self,
        caller: Caller,
        owner_subject: str,
        meta: NewDocument,
        content: IncomingContent,
        *,
        issued: bool = False,
        details: Mapping[str, Detail] | None = None,
    ) -> DocumentRead:
        """Stream-encrypt a new document into `owner_subject`'s vault, then commit its rows and audit entry.

        With `issued`, the caller's agency is recorded as the issuer (agency issuance into a citizen's vault).
        """
        self.check_kind(meta.kind)
        async with self._db.transaction() as session:
            accounts = AccountRepository(session)
            if issued:  # only into the vault of somebody who exists: no vault for a made-up subject
                account = await AccountDirectory.person(accounts, caller.issuer, owner_subject)
            else:
                account = await accounts.ensure(caller.issuer, owner_subject)
            sk = await self._keys.current_subject_key(session, account.id)
        document_id = uuid.uuid4()
        origin = "issued" if issued else "upload"
        version = await self.content.store_version(sk, document_id, 1, caller.subject, content, origin)
        async with self._db.transaction(on_failure=lambda: self.content.discard(version.object_key)) as session:
            now = self._clock()
            document = Document(
                id=document_id,
                owner_id=account.id,
                title=meta.title,
                kind=meta.kind,
                filename=meta.filename,
                current_version=1,
                issuer_agency=caller.agency if issued else None,
                issuer_subject=caller.subject if issued else None,
                created_at=now,
                updated_at=now,
            )
            version.created_at = now
            document.versions.append(version)
            session.add(document)
            await session.flush()
            await self.access_event(
                session,
                AuditAction.DOCUMENT_ISSUE if issued else AuditAction.DOCUMENT_UPLOAD,
                caller,
                document,
                Access(as_owner=not issued),
                version,
                {"size": version.size, "media_type": version.media_type, **(details or {})},
            )
            return document_read(document, owned=not issued)

    async def add_version(
        self,
        caller: Caller,
        document_id: uuid.UUID,
        content: IncomingContent,
        origin: str = "upload",
        permission: Permission = Permission.MANAGE,
        details: Mapping[str, Detail] | None = None,
    ) -> DocumentRead:
        """Store a new version of a document; issued documents cannot be altered, only signed again.

        Owners may add versions; `permission=SIGN` lets a grantee with a signing grant add the signed result.
        Two versions racing for the same number: one wins, the other is a 409 and its object is removed.
        """
        action = AuditAction.DOCUMENT_SIGN if permission is Permission.SIGN else AuditAction.DOCUMENT_VERSION
        async with self.authorised_unit(caller, document_id, action) as session:
            document, _ = await self.authorise(session, caller, document_id, permission)
            if document.issuer_agency is not None and origin == "upload":
                raise Conflict("an issued document cannot be altered; hold, share or erase it")
            sk = await self._keys.current_subject_key(session, document.owner_id)
            number = document.versions[-1].number + 1
        version = await self.content.store_version(sk, document_id, number, caller.subject, content, origin)
        try:
            async with self._db.transaction(on_failure=lambda: self.content.discard(version.object_key)) as session:
                current = await DocumentRepository(session).load(document_id)
                if current is None or current.versions[-1].number != number - 1:
                    raise Conflict("the document changed while the version was uploading; try again")
                now = self._clock()
                version.created_at = now
                current.versions.append(version)
                current.current_version = number
                current.updated_at = now
                await session.flush()
                await self.access_event(
                    session,
                    AuditAction.DOCUMENT_VERSION,
                    caller,
                    current,
                    Access(as_owner=True),
                    version,
                    {"size": version.size, "number": number, "origin": origin, **(details or {})},
                )
                return document_read(current)
        except sa_exc.IntegrityError as exc:  # the UNIQUE (document, number) constraint: a concurrent version won
            raise Conflict("another version of this document was stored at the same time; try again") from exc

    async def update(self, caller: Caller, document_id: uuid.UUID, change: DocumentUpdate) -> DocumentRead:
        """Change the title or kind of one of the caller's documents (issued documents keep theirs)."""
        async with self.authorised_unit(caller, document_id, AuditAction.DOCUMENT_UPDATE) as session:
            document, access = await self.authorise(session, caller, document_id, Permission.MANAGE)
            if document.issuer_agency is not None:
                raise Conflict("an issued document keeps the title and kind its issuer gave it")
            if change.title is not None:
                document.title = change.title
            if change.kind is not None:
                document.kind = self.check_kind(change.kind)
            document.updated_at = self._clock()
            await session.flush()
            await self.access_event(session, AuditAction.DOCUMENT_UPDATE, caller, document, access)
            return document_read(document)

    # ----- reading ----------------------------------------------------------------------------------------

    async def get(self, caller: Caller, document_id: uuid.UUID) -> DocumentRead:
        """Metadata. A read-only transaction; its entry is committed after it with other requests' entries (group
        commit) and before the answer: a read that cannot be recorded is not served (`versions` alike)."""
        async with self.authorised_unit(caller, document_id, AuditAction.DOCUMENT_READ) as session:
            document, access = await self.authorise(session, caller, document_id, Permission.VIEW)
            entry = await self.access_entry(session, AuditAction.DOCUMENT_READ, caller, document, access)
        await self._trail.record_now(entry)
        return document_read(document, owned=access.as_owner)

    async def versions(self, caller: Caller, document_id: uuid.UUID) -> list[VersionRead]:
        async with self.authorised_unit(caller, document_id, AuditAction.DOCUMENT_READ) as session:
            document, access = await self.authorise(session, caller, document_id, Permission.VIEW)
            entry = await self.access_entry(session, AuditAction.DOCUMENT_READ, caller, document, access)
        await self._trail.record_now(entry)
        return [version_read(v) for v in document.versions]

    async def list_owned(
        self, caller: Caller, cursor: str | None, limit: int, *, title: str | None = None, kind: str | None = None
    ) -> DocumentPage:
        """The caller's own documents, newest first, keyset-paginated; with `title`, only those whose title
        contains it (any case); with `kind`, only that kind."""
        limit = clamp_limit(limit)
        async with self._db.transaction() as session:
            account = await AccountRepository(session).of(caller)
            if account is None:
                return DocumentPage(items=[], next_cursor=None)
            rows = await DocumentRepository(session).page(account.id, cursor, limit, title=title, kind=kind)
            page, next_cursor = split_page(rows, limit, lambda d: (d.created_at, d.id))
            return DocumentPage(items=[document_read(d) for d in page], next_cursor=next_cursor)

    async def open_content(
        self,
        caller: Caller,
        document_id: uuid.UUID,
        *,
        version: int | None = None,
        byte_range: tuple[int | None, int | None] | None = None,
        permission: Permission = Permission.DOWNLOAD,
        action: AuditAction = AuditAction.DOCUMENT_DOWNLOAD,
        unless_etag: frozenset[str] = frozenset(),
    ) -> Content | None:
        """Authorise, record the access (fail closed), unwrap the keys, and start decrypting.

        The first piece is decrypted before this returns, so a tampered header, a truncated or swapped object
        or an unavailable store fails here, before any byte or status line goes out. None when the version's
        ETag is in `unless_etag` (the client has it: nothing is decrypted, the read is recorded as a read).
        """
        async with self.authorised_unit(caller, document_id, action) as session:
            document, access = await self.authorise(session, caller, document_id, permission)
            chosen = _pick_version(document, version)
            if f'"{chosen.sha256}"' in unless_etag or "*" in unless_etag:
                await self.access_event(session, AuditAction.DOCUMENT_READ, caller, document, access, chosen)
                return None
            start, end = resolve_range(byte_range, chosen.size)
            unlocked = await self.content.unlock(session, document, chosen)
            success = await self._trail.event(
                session,
                action,
                Outcome.SUCCESS,
                caller,
                owner_id=document.owner_id,
                document_id=document.id,
                version_id=chosen.id,
                grant_id=access.grant_id,
                request_id=access.request_id,
                purpose=access.purpose,
            )
        # Recorded once the store has answered with the first verified bytes (nothing is served before the
        # entry is written: fail closed); a read the store could not serve is recorded as failed instead.
        try:
            content = await self.content.decrypt(unlocked, caller, start, end)
        except VaultError:
            await self._trail.record_now(dataclasses.replace(success, outcome=Outcome.FAILED))
            raise
        try:
            await self._trail.record_now(success)
        except BaseException:
            await content.chunks.aclose()
            raise
        return content

    async def read_bytes(
        self, caller: Caller, document_id: uuid.UUID, *, permission: Permission, action: AuditAction, max_bytes: int
    ) -> tuple[bytes, str]:
        """The whole current version in memory (for PDF signing and verification), with its media type."""
        content = await self.open_content(caller, document_id, permission=permission, action=action)
        assert content is not None  # no ETag was given
        if content.size > max_bytes:
            await content.chunks.aclose()
            raise PayloadTooLarge(f"documents over {max_bytes} bytes cannot be signed or verified here")
        pieces = [piece async for piece in content.chunks]
        return b"".join(pieces), content.media_type

    # ----- erasure ----------------------------------------------------------------------------------------

    async def erase(self, caller: Caller, document_id: uuid.UUID) -> None:
        """Crypto-shred: delete every wrapped data key with the rows (committed), then the objects."""
        async with self.authorised_unit(caller, document_id, AuditAction.DOCUMENT_ERASE) as session:
            document, access = await self.authorise(session, caller, document_id, Permission.MANAGE)
            owner = await AccountRepository(session).get_one_or_none(id=document.owner_id)
            if owner is not None and owner.legal_hold:
                raise Conflict("this account is under legal hold; erasure is blocked")
            object_keys = [v.object_key for v in document.versions]
            await self.access_event(
                session, AuditAction.DOCUMENT_ERASE, caller, document, access, details={"versions": len(object_keys)}
            )
            await session.delete(document)
        await self._db.erased()
        await self.content.delete_objects(object_keys)


def _pick_version(document: Document, number: int | None) -> DocumentVersion:
    if number is None:
        return document.versions[-1]
    for candidate in document.versions:
        if candidate.number == number:
            return candidate
    raise NotFound("no such version")
