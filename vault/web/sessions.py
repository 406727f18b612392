"""Server-side portal sessions in the database: idle and absolute timeouts, a new id at sign-in, gone at logout."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_, select

from vault.core.database import Database
from vault.core.principal import Caller
from vault.web.models import WebSession

__all__ = ("LOGIN_LIFETIME", "LoginTransaction", "SessionStore", "SignedIn", "new_session_token")

LOGIN_LIFETIME = timedelta(minutes=10)
TOUCH_EVERY = timedelta(minutes=1)  # write last_seen_at at most this often: a page view is not a write
TOKEN_BYTES = 32


def new_session_token() -> str:
    """A fresh random cookie value (256 bits)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SignedIn:
    """Who a live session belongs to.

    Attributes:
        subject: The provider's `sub`.
        issuer: The provider's issuer.
        roles: The vault roles from the access token of the sign-in.
        agency: The officer's agency, if any.
        display_name: A name to greet with.
        client_id: The portal's client id (recorded as the caller's client).
        handle: The identity provider's handle (how others find the person in the directory), if any.
        id_token: The ID token, kept for the provider logout's `id_token_hint`.
    """

    subject: str
    issuer: str
    roles: frozenset[str]
    agency: str | None
    display_name: str
    client_id: str
    handle: str | None = None
    id_token: str | None = None

    @property
    def caller(self) -> Caller:
        """The session's user as the services know callers."""
        return Caller(
            self.subject,
            self.issuer,
            self.roles,
            self.agency,
            self.client_id,
            name=self.display_name,
            handle=self.handle,
        )


@dataclass(frozen=True)
class LoginTransaction:
    """An open login: the secrets of `auth.LoginStart` and where to go afterwards."""

    state: str
    nonce: str
    code_verifier: str
    next_path: str

    def to_json(self) -> str:
        return json.dumps(
            {"state": self.state, "nonce": self.nonce, "code_verifier": self.code_verifier, "next": self.next_path}
        )

    @classmethod
    def from_json(cls, text: str) -> LoginTransaction:
        data = json.loads(text)
        return cls(data["state"], data["nonce"], data["code_verifier"], data["next"])


class SessionStore:
    """Sessions keyed by the SHA-256 of the cookie token.

    Args:
        db: The database.
        client_id: The portal's OpenID client id.
        idle: A session dies after this long without a request.
        absolute: A session dies this long after sign-in.
        clock: Current time (tests move it).
    """

    def __init__(
        self,
        db: Database,
        *,
        client_id: str,
        idle: timedelta,
        absolute: timedelta,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._db = db
        self._client_id = client_id
        self.idle = idle
        self.absolute = absolute
        self.clock = clock

    def _alive(self, row: WebSession, now: datetime) -> bool:
        return row.expires_at > now and row.last_seen_at + self.idle > now

    async def signed_in(self, token: str | None) -> SignedIn | None:
        """The signed-in user of the session `token` names, or None (no such session, expired, not signed in)."""
        if not token:
            return None
        now = self.clock()
        async with self._db.transaction() as session:
            row = await session.get(WebSession, _digest(token))
            if row is None or row.subject is None or row.issuer is None:
                return None
            if not self._alive(row, now):
                await session.delete(row)
                return None
            if now - row.last_seen_at >= TOUCH_EVERY:
                row.last_seen_at = now
            return SignedIn(
                subject=row.subject,
                issuer=row.issuer,
                roles=frozenset(row.roles.split()),
                agency=row.agency,
                display_name=row.display_name or row.subject,
                client_id=self._client_id,
                handle=row.handle,
                id_token=row.id_token,
            )

    async def begin_login(self, token: str, transaction: LoginTransaction) -> None:
        """Remember an open login for the browser holding `token` (replacing whatever that session held)."""
        now = self.clock()
        async with self._db.transaction() as session:
            await session.execute(delete(WebSession).where(WebSession.id == _digest(token)))
            session.add(
                WebSession(
                    id=_digest(token),
                    login_state=transaction.to_json(),
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + LOGIN_LIFETIME,
                )
            )

    async def take_login(self, token: str | None) -> LoginTransaction | None:
        """The open login of this browser, removed as it is read (a transaction is used once)."""
        if not token:
            return None
        now = self.clock()
        async with self._db.transaction() as session:
            row = await session.get(WebSession, _digest(token))
            if row is None:
                return None
            await session.delete(row)
            if row.login_state is None or row.expires_at <= now:
                return None
            return LoginTransaction.from_json(row.login_state)

    async def sign_in(self, user: SignedIn) -> str:
        """Start a signed-in session under a brand-new token (the pre-login id is never reused); returns it."""
        token = new_session_token()
        now = self.clock()
        async with self._db.transaction() as session:
            session.add(
                WebSession(
                    id=_digest(token),
                    subject=user.subject,
                    issuer=user.issuer,
                    roles=" ".join(sorted(user.roles)),
                    agency=user.agency,
                    display_name=user.display_name[:255],
                    handle=user.handle[:255] if user.handle else None,
                    id_token=user.id_token,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + self.absolute,
                )
            )
        return token

    async def end(self, token: str | None) -> SignedIn | None:
        """Delete the session `token` names; returns who it belonged to (None if nobody)."""
        user = await self.signed_in(token)
        if token:
            async with self._db.transaction() as session:
                await session.execute(delete(WebSession).where(WebSession.id == _digest(token)))
        return user

    async def sweep(self) -> int:
        """Delete every dead session; returns how many."""
        now = self.clock()
        async with self._db.transaction() as session:
            result = await session.execute(
                delete(WebSession).where(
                    or_(WebSession.expires_at <= now, WebSession.last_seen_at <= now - self.idle)
                )
            )
        return int(getattr(result, "rowcount", 0) or 0)

    async def count(self) -> int:
        """How many session rows exist (for tests and metrics)."""
        async with self._db.transaction() as session:
            return len((await session.scalars(select(WebSession.id))).all())
