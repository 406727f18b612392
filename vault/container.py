"""The service's parts, built once per app start by the composition root and handed to handlers by name."""

from __future__ import annotations

from dataclasses import dataclass, fields

import auth
import signing
import storage
from vault.access_log.service import AccessLogService
from vault.accounts.directory import AccountDirectory
from vault.accounts.keys import KeyService
from vault.accounts.trail import AuditTrail
from vault.admin.service import LegalHoldService
from vault.audit.recorder import AuditRecorder
from vault.audit.service import AuditService
from vault.core.clock import Clock
from vault.core.database import Database
from vault.core.ratelimit import RateLimiter
from vault.documents.pages import DocumentSections
from vault.documents.service import DocumentService
from vault.erasure.service import AccountErasure
from vault.grants.service import GrantService
from vault.http.health import ReadinessProbe
from vault.issuance.service import IssuanceService
from vault.links.service import LinkService
from vault.requests.service import RequestService
from vault.settings import Settings
from vault.signatures.evidence import EvidenceService
from vault.signatures.published import PublishedCrls
from vault.signatures.renewal import ArchivalRenewal
from vault.signatures.service import SignatureService
from vault.web.wiring import WebServices

__all__ = ("ServiceSlot", "Services")


@dataclass(frozen=True)
class Services:
    """Everything a running app holds. Each field is also a dependency of that name for route handlers
    (`documents: NamedDependency[DocumentService]`)."""

    settings: Settings
    clock: Clock
    db: Database
    store: storage.ObjectStore
    keys: KeyService
    events: AuditRecorder
    audit: AuditService
    trail: AuditTrail
    documents: DocumentService
    grants: GrantService
    links: LinkService
    requests: RequestService
    issuance: IssuanceService
    access_log: AccessLogService
    signatures: SignatureService
    evidence: EvidenceService
    archival: ArchivalRenewal
    verifier: signing.VerificationPool
    signing_pool: signing.SigningPool
    erasure: AccountErasure
    legal_holds: LegalHoldService
    directory: AccountDirectory
    limiter: RateLimiter
    readiness: ReadinessProbe
    dev_idp: auth.DevIdentityProvider | None
    dev_pki: signing.DevPkiResponders | None
    published_crls: PublishedCrls
    document_sections: DocumentSections
    web: WebServices

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


class ServiceSlot:
    """Where the composition root puts the `Services` of a started app (empty before start and after stop)."""

    def __init__(self) -> None:
        self._services: Services | None = None

    def fill(self, services: Services | None) -> None:
        self._services = services

    @property
    def current(self) -> Services | None:
        """The services while the app runs; None before it started and after it stopped."""
        return self._services

    def get(self) -> Services:
        if self._services is None:
            raise RuntimeError("the app has not started (its lifespan builds the services)")
        return self._services
