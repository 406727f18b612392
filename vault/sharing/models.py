"""Tables of sharing: grants, share links and agency requests. Portable types only."""

from __future__ import annotations

import uuid
from datetime import datetime

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from vault.db import Base

__all__ = ("AgencyRequest", "Grant", "ShareLink")


class AgencyRequest(Base):
    """An agency's request for documents of given kinds from one citizen, for a purpose, until an expiry.

    Attributes:
        status: `pending`, `approved` or `denied` (what the citizen answered); expiry is computed from
            `expires_at`, never stored, so moving the clock is enough to expire a request.
        kinds: comma-separated document kinds asked for.
    """

    __tablename__ = "agency_requests"
    __table_args__ = (
        Index("ix_agency_requests_citizen", "citizen_id", "created_at"),
        Index("ix_agency_requests_agency", "issuer", "agency", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(GUID, primary_key=True, default=uuid.uuid4)
    issuer: Mapped[str] = mapped_column(String(512))
    agency: Mapped[str] = mapped_column(String(128))
    requester_subject: Mapped[str] = mapped_column(String(255))
    citizen_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("accounts.id", ondelete="CASCADE"))
    kinds: Mapped[str] = mapped_column(String(1024))
    purpose: Mapped[str] = mapped_column(String(256))
    legal_basis: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC)
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC)
    answered_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, default=None)


class Grant(Base):
    """The owner's permission for an agency (all its officers) or one person to use one document until expiry.

    Exactly one of `grantee_agency` / `grantee_subject` is set; the grantee always belongs to `grantee_issuer`
    (the owner's identity provider). Validity is checked in every query (`revoked_at`, `expires_at`): nothing
    is cached, so revocation holds from the very next request.
    """

    __tablename__ = "grants"
    __table_args__ = (
        CheckConstraint("(grantee_agency IS NULL) <> (grantee_subject IS NULL)", name="one_grantee"),
        Index("ix_grants_owner_created", "owner_id", "created_at"),
        Index("ix_grants_document", "document_id"),
        Index("ix_grants_grantee_agency", "grantee_issuer", "grantee_agency"),
        Index("ix_grants_grantee_subject", "grantee_issuer", "grantee_subject"),
    )

    id: Mapped[uuid.UUID] = mapped_column(GUID, primary_key=True, default=uuid.uuid4)
    document_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("documents.id", ondelete="CASCADE"))
    owner_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("accounts.id", ondelete="CASCADE"))
    grantee_issuer: Mapped[str] = mapped_column(String(512))
    grantee_agency: Mapped[str | None] = mapped_column(String(128), default=None)
    grantee_subject: Mapped[str | None] = mapped_column(String(255), default=None)
    can_view: Mapped[bool] = mapped_column(Boolean, default=False)
    can_download: Mapped[bool] = mapped_column(Boolean, default=False)
    can_sign: Mapped[bool] = mapped_column(Boolean, default=False)
    purpose: Mapped[str | None] = mapped_column(String(256), default=None)
    request_id: Mapped[uuid.UUID | None] = mapped_column(
        GUID, ForeignKey("agency_requests.id", ondelete="SET NULL"), default=None, index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC)
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, default=None)


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
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC)
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, default=None)
