"""Tables of sharing: grants, share links and agency requests. Portable types only."""

from __future__ import annotations

import uuid
from datetime import datetime

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from vault.core.base import Base

__all__ = ("AgencyRequest",)


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
