"""Share links: a random bearer token (stored only as its SHA-256), an expiry, a download limit held under
concurrency by an atomic conditional UPDATE, an optional argon2id-hashed password, and a limit on wrong
passwords counted in the database (so it holds across instances)."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from collections.abc import Mapping
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from vault.accounts.repository import AccountRepository
from vault.accounts.trail import AuditTrail, Detail
from vault.audit.actions import AuditAction, Outcome
from vault.core.clock import Clock, checked_expiry
from vault.core.database import Database
from vault.core.errors import Forbidden, Gone, NotFound, TooManyRequests
from vault.core.principal import Caller
from vault.documents.content import Content, ContentVault, UnlockedVersion
from vault.documents.repository import DocumentRepository
from vault.links.models import ShareLink
from vault.links.schemas import LinkCreated, LinkLanding, LinkRead, NewLink

__all__ = ("LONGEST_LINK", "LinkPasswordRequired", "LinkService", "hash_token", "link_read")

LONGEST_LINK = timedelta(days=30)
TOKEN_BYTES = 32


class LinkPasswordRequired(Forbidden):
    """The link has a password and the request gave none, or a wrong one."""

    slug, title = "link-password-required", "This link needs its password"


def hash_token(token: str) -> str:
    """Hex SHA-256 of a link token: what the database holds instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def link_read(link: ShareLink) -> LinkRead:
    """The owner's view of a link (never its token)."""
    return LinkRead(
        id=link.id,
        document_id=link.document_id,
        max_downloads=link.max_uses,
        downloads=link.uses,
        password_protected=link.password_hash is not None,
        created_at=link.created_at,
        expires_at=link.expires_at,
        revoked_at=link.revoked_at,
    )


class LinkService:
    """Creating, revoking, describing and redeeming share links."""

    def __init__(
        self,
        db: Database,
        content: ContentVault,
        trail: AuditTrail,
        *,
        public_url: str,
        clock: Clock,
        max_password_failures: int = 10,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self._db = db
        self._content = content
        self._trail = trail
        self._public_url = public_url.rstrip("/")
        self._clock = clock
        self._max_failures = max_password_failures
        self._hasher = hasher or PasswordHasher()  # argon2id, RFC 9106 low-memory profile (64 MiB)

    async def create(self, caller: Caller, document_id: uuid.UUID, body: NewLink) -> LinkCreated:
        """A link to one of the caller's documents; the token is returned here and never again."""
        now = self._clock()
        expires_at = checked_expiry(body.expires_at, now, LONGEST_LINK, "a link's")
        password_hash = None
        if body.password is not None:
            password_hash = await asyncio.to_thread(self._hasher.hash, body.password)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        async with self._db.transaction() as session:
            document = await DocumentRepository(session).owned(caller, document_id)
            if document is None:
                raise NotFound("no such document")
            link = ShareLink(
                id=uuid.uuid4(),
                document_id=document.id,
                owner_id=document.owner_id,
                token_hash=hash_token(token),
                password_hash=password_hash,
                max_uses=body.max_downloads,
                uses=0,
                failed_attempts=0,
                created_at=now,
                expires_at=expires_at,
            )
            session.add(link)
            await session.flush()
            details: dict[str, Detail] = {
                "max_downloads": link.max_uses,
                "protected": password_hash is not None,
                "expires_at": expires_at.isoformat(),
            }
            await self._record(session, AuditAction.LINK_CREATE, Outcome.SUCCESS, caller, link, details)
            return LinkCreated(link=link_read(link), token=token, url=f"{self._public_url}/s/{token}")

    async def list_owned(self, caller: Caller, document_id: uuid.UUID | None) -> list[LinkRead]:
        """The caller's links, newest first (at most 100), optionally of one document."""
        async with self._db.transaction() as session:
            account = await AccountRepository(session).of(caller)
            if account is None:
                return []
            query = select(ShareLink).where(ShareLink.owner_id == account.id)
            if document_id is not None:
                query = query.where(ShareLink.document_id == document_id)
            rows = await session.scalars(query.order_by(ShareLink.created_at.desc()).limit(100))
            return [link_read(link) for link in rows]

    async def revoke(self, caller: Caller, link_id: uuid.UUID) -> None:
        """Revoke one of the caller's links; its next use answers 410. Idempotent."""
        async with self._db.transaction() as session:
            account = await AccountRepository(session).of(caller)
            link = None
            if account is not None:
                link = await session.scalar(
                    select(ShareLink).where(ShareLink.id == link_id, ShareLink.owner_id == account.id)
                )
            if link is None:
                raise NotFound("no such link")
            if link.revoked_at is not None:
                return
            await session.execute(update(ShareLink).where(ShareLink.id == link.id).values(revoked_at=self._clock()))
            await self._record(session, AuditAction.LINK_REVOKE, Outcome.SUCCESS, caller, link)

    async def describe(self, token: str) -> LinkLanding:
        """What the link shares (title, size, expiry, downloads left): no use is consumed, nothing decrypted."""
        async with self._db.transaction() as session:
            link = await session.scalar(select(ShareLink).where(ShareLink.token_hash == hash_token(token)))
            document = None if link is None else await DocumentRepository(session).load(link.document_id)
            if link is None or document is None:
                raise NotFound("no such link")
            current = document.versions[-1]
            available = link.revoked_at is None and link.expires_at > self._clock() and link.uses < link.max_uses
            return LinkLanding(
                title=document.title,
                filename=document.filename,
                media_type=current.media_type,
                size=current.size,
                expires_at=link.expires_at,
                downloads_left=max(0, link.max_uses - link.uses),
                password_required=link.password_hash is not None,
                available=available,
            )

    async def open(self, token: str, password: str | None) -> Content:
        """Redeem a link: 404 unknown, 403 wrong password, 429 too many wrong ones, 410 expired, exhausted or
        revoked; else the content.

        One use is consumed by a conditional UPDATE committed (with its audit entry) before a byte is served,
        so N concurrent downloads of a link with k uses left get exactly k successes.
        """
        link = await self._find(token)
        await self._check_password(link, password)
        async with self._db.transaction() as session:
            now = self._clock()
            consumed: CursorResult[object] = await session.execute(  # type: ignore[assignment]
                update(ShareLink)
                .where(
                    ShareLink.id == link.id,
                    ShareLink.uses < ShareLink.max_uses,
                    ShareLink.revoked_at.is_(None),
                    ShareLink.expires_at > now,
                )
                .values(uses=ShareLink.uses + 1)
                .execution_options(synchronize_session=False)
            )
            opened = await self._unlock(session, link) if consumed.rowcount == 1 else None
        if opened is None:
            await self._record_alone(link, {"reason": "expired, exhausted or revoked"})
            raise Gone("this link has expired, was revoked or has no downloads left")
        # decrypted after the commit: no transaction is held while the store is read
        return await self._content.decrypt(opened, None)

    async def _find(self, token: str) -> ShareLink:
        async with self._db.transaction() as session:
            link = await session.scalar(select(ShareLink).where(ShareLink.token_hash == hash_token(token)))
        if link is None:
            raise NotFound("no such link")
        return link

    async def _check_password(self, link: ShareLink, password: str | None) -> None:
        if link.password_hash is None:
            return
        if link.failed_attempts >= self._max_failures:
            raise TooManyRequests("too many wrong passwords for this link; ask its owner for a new one")
        if password:
            try:
                await asyncio.to_thread(self._hasher.verify, link.password_hash, password)
                return
            except (VerificationError, InvalidHashError):
                pass
        async with self._db.transaction() as session:
            # counted in the database, atomically: the limit holds across instances and concurrent guesses
            await session.execute(
                update(ShareLink)
                .where(ShareLink.id == link.id)
                .values(failed_attempts=ShareLink.failed_attempts + 1)
                .execution_options(synchronize_session=False)
            )
            await self._record(session, AuditAction.LINK_USE, Outcome.DENIED, None, link, {"reason": "wrong password"})
        raise LinkPasswordRequired("give the link's password in the X-Link-Password header or a `password` form field")

    async def _unlock(self, session: AsyncSession, link: ShareLink) -> UnlockedVersion:
        """Unwrap the current version's data key and record the use, in the consuming transaction (fail closed)."""
        document = await DocumentRepository(session).load(link.document_id)
        if document is None:
            raise NotFound("no such link")
        version = document.versions[-1]
        unlocked = await self._content.unlock(session, document, version)
        details = {"download": link.uses + 1}
        await self._record(session, AuditAction.LINK_USE, Outcome.SUCCESS, None, link, details, version.id)
        return unlocked

    async def _record(
        self,
        session: AsyncSession,
        action: AuditAction,
        outcome: Outcome,
        caller: Caller | None,
        link: ShareLink,
        details: Mapping[str, Detail] | None = None,
        version_id: uuid.UUID | None = None,
    ) -> None:
        event = await self._trail.event(
            session,
            action,
            outcome,
            caller,
            owner_id=link.owner_id,
            document_id=link.document_id,
            version_id=version_id,
            link_id=link.id,
            purpose="share link" if action is AuditAction.LINK_USE else None,
            details=details,
        )
        await self._trail.record(session, event)

    async def _record_alone(self, link: ShareLink, details: Mapping[str, Detail]) -> None:
        async with self._db.transaction() as session:
            await self._record(session, AuditAction.LINK_USE, Outcome.DENIED, None, link, details)
