"""Tables of sharing: grants, share links and agency requests. Portable types only."""

from __future__ import annotations

import uuid
from datetime import datetime

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from vault.core.base import Base

__all__ = ("Grant",)


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
