"""Tables of sharing: grants, share links and agency requests. Portable types only."""

from __future__ import annotations

import uuid
from datetime import datetime

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from vault.core.base import Base

__all__ = ("ShareLink",)


class ShareLink(Base):
    """A bearer link to one document. Only the SHA-256 of its token is stored; the password only as argon2id.

    Attributes:
        token_hash: hex SHA-256 of the random token (the token itself is shown once and never stored).
        password_hash: argon2id PHC string, or None for a link without a password.
        uses: downloads so far; consumed with an atomic conditional UPDATE, never above `max_uses`.
    """

    __tablename__ = "share_links"
    __table_args__ = (Index("ix_share_links_owner_created", "owner_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(GUID, primary_key=True, default=uuid.uuid4)
    document_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("accounts.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(256), default=None)
    max_uses: Mapped[int] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC)
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, default=None)
