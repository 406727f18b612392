"""The portal's server-side sessions (one table; portable types only)."""

from __future__ import annotations

from datetime import datetime

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vault.core.base import Base

__all__ = ("WebSession",)


class WebSession(Base):
    """A browser session: before sign-in it only holds a login transaction; after, who signed in.

    The cookie carries a random token; the table holds only its SHA-256 (`id`), so a database reader cannot
    take over a session. A session is dead once `expires_at` (absolute) or `last_seen_at` + the idle timeout
    has passed.

    Attributes:
        id: hex SHA-256 of the cookie's token.
        subject / issuer / roles / agency / display_name / handle: who signed in (None before sign-in); `roles` is
            space-separated.
        id_token: the ID token of the sign-in, kept only as the `id_token_hint` of the provider logout.
        login_state: JSON of an open login transaction (state, nonce, PKCE verifier, where to go next).
    """

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_expires_at", "expires_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject: Mapped[str | None] = mapped_column(String(255), default=None)
    issuer: Mapped[str | None] = mapped_column(String(512), default=None)
    roles: Mapped[str] = mapped_column(String(255), default="")
    agency: Mapped[str | None] = mapped_column(String(128), default=None)
    display_name: Mapped[str | None] = mapped_column(String(255), default=None)
    handle: Mapped[str | None] = mapped_column(String(255), default=None)
    id_token: Mapped[str | None] = mapped_column(Text, default=None)
    login_state: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC)
    last_seen_at: Mapped[datetime] = mapped_column(DateTimeUTC)
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC)
