"""Every ORM model of the service, imported in one place so the metadata is complete (Alembic, tests)."""

from __future__ import annotations

from vault.accounts.models import Account, ServiceSecret, SubjectKey
from vault.audit.models import *  # noqa: F403 - registers the audit tables
from vault.db import Base
from vault.documents.models import Document, DocumentVersion
from vault.sharing.models import AgencyRequest, Grant, ShareLink

__all__ = (
    "Account",
    "AgencyRequest",
    "Base",
    "Document",
    "DocumentVersion",
    "Grant",
    "ServiceSecret",
    "ShareLink",
    "SubjectKey",
    "metadata",
)

metadata = Base.metadata
