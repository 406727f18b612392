"""Owners and their subject keys (SK), stored wrapped by the key provider's KEK."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vault.core.base import Base

__all__ = ("Account", "ServiceSecret", "SubjectKey")


def _now() -> datetime:
    return datetime.now(UTC)


class Account(Base):
    """One principal known to the vault. Everything else refers to `id`, never to names or e-mail addresses."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[uuid.UUID] = mapped_column(GUID, primary_key=True, default=uuid.uuid4)
    issuer: Mapped[str] = mapped_column(String(512))
    subject: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC, default=_now)
    legal_hold: Mapped[bool] = mapped_column(default=False)
    # the directory: how people find each other (from the identity provider's claims at the last sign-in)
    handle: Mapped[str | None] = mapped_column(String(255), default=None, index=True)
    display_name: Mapped[str | None] = mapped_column(String(255), default=None)
    roles: Mapped[str] = mapped_column(String(64), default="", server_default="")
    agency: Mapped[str | None] = mapped_column(String(128), default=None, index=True)


class SubjectKey(Base):
    """A version of an owner's 256-bit subject key, wrapped under the KEK with the owner's canonical context."""

    __tablename__ = "subject_keys"

    account_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    kek_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC, default=_now)


class ServiceSecret(Base):
    """A secret of the service itself (e.g. the audit checkpoint signing key), wrapped under the KEK."""

    __tablename__ = "service_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    kek_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC, default=_now)
