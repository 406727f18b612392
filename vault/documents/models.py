"""Document metadata. Content lives encrypted in the object store under opaque keys."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vault.core.base import Base

__all__ = ("Document", "DocumentVersion")


def _now() -> datetime:
    return datetime.now(UTC)


class Document(Base):
    """A document in an owner's vault; its bytes are the current version's."""

    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_owner_created", "owner_id", "created_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(GUID, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("accounts.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str | None] = mapped_column(String(255), default=None)
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    issuer_agency: Mapped[str | None] = mapped_column(String(128), default=None)
    issuer_subject: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC, default=_now)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC, default=_now)

    versions: Mapped[list[DocumentVersion]] = relationship(
        back_populates="document", cascade="all, delete-orphan", order_by="DocumentVersion.number"
    )


class DocumentVersion(Base):
    """One immutable version: where its ciphertext is, how big, its plaintext hash and its wrapped data key."""

    __tablename__ = "document_versions"
    __table_args__ = (UniqueConstraint("document_id", "number"),)

    id: Mapped[uuid.UUID] = mapped_column(GUID, primary_key=True, default=uuid.uuid4)
    document_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("documents.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    object_key: Mapped[str] = mapped_column(String(255))
    wrapped_dek: Mapped[bytes] = mapped_column(LargeBinary)
    sk_version: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(String(32), default="upload")
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC, default=_now)

    document: Mapped[Document] = relationship(back_populates="versions")
