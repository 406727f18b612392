"""Every ORM model of the service, imported in one place so the metadata is complete (Alembic, tests)."""

from __future__ import annotations

from vault.accounts.models import Account, ServiceSecret, SubjectKey
from vault.audit.models import *  # noqa: F403 - registers the audit tables
from vault.core.base import Base
from vault.core.deployment import DeploymentSetting
from vault.core.ratelimit import RateWindow
from vault.documents.models import Document, DocumentVersion
from vault.grants.models import Grant
from vault.links.models import ShareLink
from vault.requests.models import AgencyRequest
from vault.web.models import WebSession

__all__ = (
    "Account",
    "AgencyRequest",
    "Base",
    "DeploymentSetting",
    "Document",
    "DocumentVersion",
    "Grant",
    "RateWindow",
    "ServiceSecret",
    "ShareLink",
    "SubjectKey",
    "WebSession",
    "metadata",
)

metadata = Base.metadata
