"""The rules of documents: upload, versions, listing, download and erasure (crypto-shredding)."""

from __future__ import annotations

import base64
import contextlib
import logging
import uuid
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

import storage
from vault.accounts.keys import KeyService, SubjectKeyMaterial, account_for, dek_context, object_context
from vault.accounts.models import Account
from vault.audit.entry import AuditEvent
from vault.database import Database
from vault.documents.access import Access, AccessPolicy, OwnerOnly, Permission
from vault.documents.media import sniffed
from vault.documents.models import Document, DocumentVersion
from vault.documents.schemas import DocumentPage, DocumentRead, NewDocument, VersionRead
from vault.errors import (
    BadRequest,
    Conflict,
    IntegrityFailure,
    NotFound,
    PayloadTooLarge,
    StorageUnavailableError,
)
from vault.events import EventRecorder
from vault.principal import Caller

__all__ = ("Content", "DocumentService", "IncomingContent", "UnlockedVersion")

log = logging.getLogger(__name__)
MAX_PAGE = 100
PSEUDONYM_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class IncomingContent:
    """A document body as it streams in."""

    media_type: str
    body: AsyncIterator[bytes]
    declared_size: int | None = None


@dataclass(frozen=True)
class Content:
    """Decrypted bytes on their way out: `chunks` yields [start, end) of a `size`-byte version."""

    media_type: str
    size: int
    sha256: str
    start: int
    end: int
    version: int
    title: str
    chunks: AsyncGenerator[bytes, None]


@dataclass(frozen=True)
class UnlockedVersion:
    """A version whose data key is unwrapped: everything needed to decrypt it, nothing of the ORM."""

    owner_id: uuid.UUID
    document_id: uuid.UUID
    title: str
    version_id: uuid.UUID
    number: int
    media_type: str
    size: int
    sha256: str
    object_key: str
    dek: bytes = field(repr=False)


def _object_key(owner: uuid.UUID, document: uuid.UUID, version: uuid.UUID) -> str:
    return f"v1/{owner}/{document}/{version}"


def _cursor_encode(document: Document) -> str:
    raw = f"{document.created_at.isoformat()}|{document.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor_decode(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, ident = raw.split("|", 1)
        return datetime.fromisoformat(stamp), uuid.UUID(ident)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("invalid cursor") from exc


def to_read(document: Document, *, owned: bool = True) -> DocumentRead:
    current = document.versions[-1]
    return DocumentRead(
        id=document.id,
        title=document.title,
        kind=document.kind,
        media_type=current.media_type,
        size=current.size,
        sha256=current.sha256,
        version=current.number,
        versions=len(document.versions),
        issued=document.issuer_agency is not None,
        issuer=document.issuer_agency,
        created_at=document.created_at,
        updated_at=document.updated_at,
        owned=owned,
    )


def version_read(version: DocumentVersion) -> VersionRead:
    return VersionRead(
        id=version.id,
        number=version.number,
        media_type=version.media_type,
        size=version.size,
        sha256=version.sha256,
        origin=version.origin,
        created_at=version.created_at,
    )


class DocumentService:
    """Documents of one deployment: metadata in the database, encrypted content in the object store."""

    def __init__(
        self,
        db: Database,
        store: storage.ObjectStore,
        keys: KeyService,
        events: EventRecorder,
        *,
        max_upload_bytes: int,
        access: AccessPolicy | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = db
        self._store = store
        self._keys = keys
        self._events = events
        self._max_upload_bytes = max_upload_bytes
        self.access = access or OwnerOnly()
        self._clock = clock
        self._pseudonyms: OrderedDict[uuid.UUID, str] = OrderedDict()

    # ----- owner pseudonyms for audit entries -------------------------------------------------------------

    async def owner_ref(self, session: AsyncSession, owner_id: uuid.UUID) -> str:
        """The owner's audit pseudonym (unlinkable once their subject key is destroyed).

        Pseudonyms are not secrets, only unlinkable without the key: a bounded in-process cache saves a subject
        key unwrap on every audited read.
        """
        from vault.audit.pseudonym import derive_pseudonym_key, owner_pseudonym

        cached = self._pseudonyms.get(owner_id)
        if cached is not None:
            self._pseudonyms.move_to_end(owner_id)
            return cached
        sk = await self._keys.subject_key(session, owner_id, 1)
        ref = owner_pseudonym(derive_pseudonym_key(sk.key), owner_id)
        self._pseudonyms[owner_id] = ref
        if len(self._pseudonyms) > PSEUDONYM_CACHE_SIZE:
            self._pseudonyms.popitem(last=False)
        return ref

    def forget_owner(self, owner_id: uuid.UUID) -> None:
        """Drop a cached pseudonym (the owner's keys were destroyed)."""
        self._pseudonyms.pop(owner_id, None)

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
        details: Mapping[str, str | int | bool | None] | None = None,
    ) -> DocumentRead:
        """Stream-encrypt a new document into `owner_subject`'s vault, then commit its rows and audit entry.

        With `issued`, the caller's agency is recorded as the issuer (agency issuance into a citizen's vault).
        """
        async with self._db.transaction() as session:
            account = await account_for(session, caller.issuer, owner_subject)
            sk = await self._keys.current_subject_key(session, account.id)
            owner_id = account.id
        document_id, version_id = uuid.uuid4(), uuid.uuid4()
        origin = "issued" if issued else "upload"
        version = await self._store_version(sk, document_id, version_id, 1, caller, content, origin)
        async with self._db.transaction(on_failure=self._discard(version.object_key)) as session:
            now = self._clock()
            document = Document(
                id=document_id,
                owner_id=owner_id,
                title=meta.title,
                kind=meta.kind,
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
            await self._events.append(
                session,
                self._events.event(
                    "document.issue" if issued else "document.upload",
                    "success",
                    caller,
                    owner_ref=await self.owner_ref(session, owner_id),
                    document_id=document_id,
                    version_id=version_id,
                    details={"size": version.size, "media_type": version.media_type, **(details or {})},
                ),
            )
            return to_read(document, owned=not issued)

    async def add_version(
        self,
        caller: Caller,
        document_id: uuid.UUID,
        content: IncomingContent,
        origin: str = "upload",
        permission: Permission = Permission.MANAGE,
    ) -> DocumentRead:
        """Store a new version of a document; issued documents cannot be altered, only signed again.

        Owners may add versions; `permission=SIGN` lets a grantee with a signing grant add the signed result.
        """
        async with self._db.transaction() as session:
            document, _ = await self._authorise(session, caller, document_id, permission)
            if document.issuer_agency is not None and origin == "upload":
                raise Conflict("an issued document cannot be altered; hold, share or erase it")
            sk = await self._keys.current_subject_key(session, document.owner_id)
            number = document.versions[-1].number + 1
        version_id = uuid.uuid4()
        version = await self._store_version(sk, document_id, version_id, number, caller, content, origin)
        async with self._db.transaction(on_failure=self._discard(version.object_key)) as session:
            current = await self._load(session, document_id)
            if current is None or current.versions[-1].number != number - 1:
                raise Conflict("the document changed while the version was uploading; try again")
            document = current
            now = self._clock()
            version.created_at = now
            document.versions.append(version)
            document.current_version = number
            document.updated_at = now
            await session.flush()
            await self._events.append(
                session,
                self._events.event(
                    "document.version",
                    "success",
                    caller,
                    owner_ref=await self.owner_ref(session, document.owner_id),
                    document_id=document_id,
                    version_id=version_id,
                    details={"size": version.size, "number": number, "origin": origin},
                ),
            )
            return to_read(document)

    async def _store_version(
        self,
        sk: SubjectKeyMaterial,
        document_id: uuid.UUID,
        version_id: uuid.UUID,
        number: int,
        caller: Caller,
        content: IncomingContent,
        origin: str = "upload",
    ) -> DocumentVersion:
        if content.declared_size is not None and content.declared_size > self._max_upload_bytes:
            raise PayloadTooLarge(f"documents are limited to {self._max_upload_bytes} bytes")
        dek = storage.generate_key()
        key = _object_key(sk.account_id, document_id, version_id)
        try:
            stored = await storage.encrypt_to_store(
                self._store,
                key,
                dek,
                object_context(sk.account_id, document_id, version_id),
                sniffed(content.media_type, content.body),
                max_bytes=self._max_upload_bytes,
                plaintext_size=content.declared_size,
            )
        except storage.TooLarge as exc:
            raise PayloadTooLarge(f"documents are limited to {self._max_upload_bytes} bytes") from exc
        except storage.StorageUnavailable as exc:
            raise StorageUnavailableError() from exc
        except storage.StorageError as exc:
            raise BadRequest(exc.detail if hasattr(exc, "detail") else "upload failed") from exc
        wrapped = self._keys.wrap_data_key(sk, dek, dek_context(sk.account_id, document_id, version_id, sk.version))
        return DocumentVersion(
            id=version_id,
            number=number,
            media_type=content.media_type,
            size=stored.plaintext_size,
            sha256=stored.sha256,
            object_key=key,
            wrapped_dek=wrapped,
            sk_version=sk.version,
            created_by=caller.subject[:64],
            origin=origin,
        )

    def _discard(self, object_key: str) -> Callable[[], Awaitable[None]]:
        async def discard() -> None:
            with contextlib.suppress(storage.StorageError):
                await self._store.delete(object_key)

        return discard

    # ----- reading ----------------------------------------------------------------------------------------

    async def _load(self, session: AsyncSession, document_id: uuid.UUID) -> Document | None:
        return await session.scalar(
            select(Document).where(Document.id == document_id).options(selectinload(Document.versions))
        )

    async def _authorise(
        self, session: AsyncSession, caller: Caller, document_id: uuid.UUID, permission: Permission
    ) -> tuple[Document, Access]:
        """The document and the caller's access to it, or 404 (recorded as a denied attempt)."""
        document = await self._load(session, document_id)
        if document is not None:
            owner = await session.get(Account, document.owner_id)
            if owner is not None and owner.issuer == caller.issuer and owner.subject == caller.subject:
                return document, Access(as_owner=True)
            if permission is not Permission.MANAGE:
                access = await self.access.non_owner_access(session, caller, document, permission)
                if access is not None:
                    return document, access
        await self._record_denied(caller, document, document_id, permission)
        raise NotFound("no such document")

    async def _record_denied(
        self, caller: Caller, document: Document | None, document_id: uuid.UUID, permission: Permission
    ) -> None:
        owner_ref = None
        if document is not None:
            async with self._db.transaction() as session:
                with contextlib.suppress(IntegrityFailure):
                    owner_ref = await self.owner_ref(session, document.owner_id)
        await self._events.append_now(
            self._events.event(
                f"document.{permission.value}",
                "denied",
                caller,
                owner_ref=owner_ref,
                document_id=document_id,
            )
        )

    async def get(self, caller: Caller, document_id: uuid.UUID) -> DocumentRead:
        async with self._db.transaction() as session:
            document, access = await self._authorise(session, caller, document_id, Permission.VIEW)
            await self._events.append(
                session, await self._access_event(session, "document.read", caller, document, access)
            )
            return to_read(document, owned=access.as_owner)

    async def versions(self, caller: Caller, document_id: uuid.UUID) -> list[VersionRead]:
        async with self._db.transaction() as session:
            document, access = await self._authorise(session, caller, document_id, Permission.VIEW)
            await self._events.append(
                session, await self._access_event(session, "document.read", caller, document, access)
            )
            return [version_read(v) for v in document.versions]

    async def _access_event(
        self,
        session: AsyncSession,
        action: str,
        caller: Caller,
        document: Document,
        access: Access,
        version: DocumentVersion | None = None,
    ) -> AuditEvent:
        return self._events.event(
            action,
            "success",
            caller,
            owner_ref=await self.owner_ref(session, document.owner_id),
            document_id=document.id,
            version_id=version.id if version else None,
            grant_id=access.grant_id,
            request_id=access.request_id,
            purpose=access.purpose,
        )

    async def list_owned(self, caller: Caller, cursor: str | None, limit: int) -> DocumentPage:
        """The caller's own documents, newest first, keyset-paginated."""
        limit = max(1, min(limit, MAX_PAGE))
        async with self._db.transaction() as session:
            account = await session.scalar(
                select(Account).where(Account.issuer == caller.issuer, Account.subject == caller.subject)
            )
            if account is None:
                return DocumentPage(items=[], next_cursor=None)
            query = (
                select(Document)
                .where(Document.owner_id == account.id)
                .options(selectinload(Document.versions))
                .order_by(Document.created_at.desc(), Document.id.desc())
                .limit(limit + 1)
            )
            if cursor:
                stamp, ident = _cursor_decode(cursor)
                query = query.where(
                    or_(Document.created_at < stamp, and_(Document.created_at == stamp, Document.id < ident))
                )
            rows = list((await session.scalars(query)).all())
            more = len(rows) > limit
            rows = rows[:limit]
            return DocumentPage(
                items=[to_read(d) for d in rows],
                next_cursor=_cursor_encode(rows[-1]) if more and rows else None,
            )

    async def open_content(
        self,
        caller: Caller,
        document_id: uuid.UUID,
        *,
        version: int | None = None,
        byte_range: tuple[int, int | None] | None = None,
        permission: Permission = Permission.DOWNLOAD,
        action: str = "document.download",
    ) -> Content:
        """Authorise, record the access (fail closed), unwrap the keys, and start decrypting.

        The first piece is decrypted before this returns, so a tampered header, a truncated or swapped object
        or an unavailable store fails here, before any byte or status line goes out.
        """
        async with self._db.transaction() as session:
            document, access = await self._authorise(session, caller, document_id, permission)
            chosen = self._pick_version(document, version)
            start, end = _resolve_range(byte_range, chosen.size)
            unlocked = await self.unlock(session, document, chosen)
            await self._events.append(
                session, await self._access_event(session, action, caller, document, access, chosen)
            )
        return await self.decrypt(unlocked, caller, start, end)

    async def unlock(self, session: AsyncSession, document: Document, version: DocumentVersion) -> UnlockedVersion:
        """Unwrap the version's data key (subject key under the KEK, data key under the subject key)."""
        sk = await self._keys.subject_key(session, document.owner_id, version.sk_version)
        dek = self._keys.unwrap_data_key(
            sk, version.wrapped_dek, dek_context(document.owner_id, document.id, version.id, version.sk_version)
        )
        return UnlockedVersion(
            owner_id=document.owner_id,
            document_id=document.id,
            title=document.title,
            version_id=version.id,
            number=version.number,
            media_type=version.media_type,
            size=version.size,
            sha256=version.sha256,
            object_key=version.object_key,
            dek=dek,
        )

    async def decrypt(
        self, unlocked: UnlockedVersion, caller: Caller | None, start: int = 0, end: int | None = None
    ) -> Content:
        """Start decrypting [start, end) of an unlocked version (call it after the transaction committed).

        The first piece is decrypted before this returns, so a tampered header, a truncated or swapped object
        or an unavailable store fails here (and is audited), before any byte or status line goes out.
        """
        end = unlocked.size if end is None else end
        chunks = storage.decrypt_from_store(
            self._store,
            unlocked.object_key,
            unlocked.dek,
            object_context(unlocked.owner_id, unlocked.document_id, unlocked.version_id),
            unlocked.size,
            start,
            end,
        )
        primed = await self._prime(chunks, caller, unlocked.document_id, unlocked.version_id)
        return Content(
            unlocked.media_type, unlocked.size, unlocked.sha256, start, end, unlocked.number, unlocked.title, primed
        )

    async def _prime(
        self,
        chunks: AsyncGenerator[bytes, None],
        caller: Caller | None,
        document_id: uuid.UUID,
        version_id: uuid.UUID,
    ) -> AsyncGenerator[bytes, None]:
        try:
            first = await anext(chunks)
        except StopAsyncIteration:
            first = b""
        except storage.IntegrityError as exc:
            await self._events.append_now(
                self._events.event(
                    "document.integrity_failure", "failed", caller, document_id=document_id, version_id=version_id
                )
            )
            raise IntegrityFailure() from exc
        except (storage.StorageUnavailable, storage.ObjectNotFound) as exc:
            raise StorageUnavailableError() from exc

        async def rest() -> AsyncGenerator[bytes, None]:
            try:
                if first:
                    yield first
                async for piece in chunks:
                    yield piece
            except storage.IntegrityError:
                log.error("integrity failure mid-stream: document %s version %s", document_id, version_id)
                raise
            finally:
                await chunks.aclose()

        return rest()

    @staticmethod
    def _pick_version(document: Document, number: int | None) -> DocumentVersion:
        if number is None:
            return document.versions[-1]
        for candidate in document.versions:
            if candidate.number == number:
                return candidate
        raise NotFound("no such version")

    # ----- erasure ----------------------------------------------------------------------------------------

    async def read_bytes(
        self, caller: Caller, document_id: uuid.UUID, *, permission: Permission, action: str, max_bytes: int
    ) -> tuple[bytes, str]:
        """The whole current version in memory (for PDF signing and verification), with its media type."""
        content = await self.open_content(caller, document_id, permission=permission, action=action)
        if content.size > max_bytes:
            await content.chunks.aclose()
            raise PayloadTooLarge(f"documents over {max_bytes} bytes cannot be signed or verified here")
        pieces = [piece async for piece in content.chunks]
        return b"".join(pieces), content.media_type

    async def erase(self, caller: Caller, document_id: uuid.UUID) -> None:
        """Crypto-shred: delete every wrapped data key with the rows (committed), then the objects."""
        async with self._db.transaction() as session:
            document, _ = await self._authorise(session, caller, document_id, Permission.MANAGE)
            owner = await session.get(Account, document.owner_id)
            if owner is not None and owner.legal_hold:
                raise Conflict("this account is under legal hold; erasure is blocked")
            object_keys = [v.object_key for v in document.versions]
            await self._events.append(
                session,
                self._events.event(
                    "document.erase",
                    "success",
                    caller,
                    owner_ref=await self.owner_ref(session, document.owner_id),
                    document_id=document_id,
                    details={"versions": len(object_keys)},
                ),
            )
            await session.delete(document)
        for key in object_keys:
            try:
                await self._store.delete(key)
            except storage.StorageError:
                # The data key is already gone: the object is unreadable; the sweeper removes it later.
                log.warning("object of an erased document left for the sweeper")


def _resolve_range(byte_range: tuple[int, int | None] | None, size: int) -> tuple[int, int]:
    """[start, end) for a parsed `Range` (start, inclusive last or None); 416 when unsatisfiable."""
    from vault.errors import RangeNotSatisfiable

    if byte_range is None:
        return 0, size
    first, last = byte_range
    if first < 0:  # suffix range: the last -first bytes
        if size == 0:
            raise RangeNotSatisfiable(size=size)
        return max(0, size + first), size
    if first >= size:
        raise RangeNotSatisfiable(size=size)
    end = size if last is None else min(last + 1, size)
    return first, end
