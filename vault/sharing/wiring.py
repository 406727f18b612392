"""Composing the sharing services for the app's lifespan, and the controllers for its route table."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

import signing
import storage
from vault.accounts.keys import KeyService
from vault.database import Database
from vault.documents.service import DocumentService
from vault.events import EventRecorder
from vault.settings import Settings
from vault.sharing.access_log import AccessLogService
from vault.sharing.expiry import utcnow
from vault.sharing.grants import GrantAccessPolicy, GrantService
from vault.sharing.issuance import IssuanceService
from vault.sharing.links import LinkService
from vault.sharing.requests import RequestService

__all__ = ("TrustRootVerifier", "sharing_controllers", "sharing_services")

DEV_PKI_DIRECTORY = "dev-pki"
MAX_ISSUED_BYTES = 50 * 1024 * 1024


def sharing_controllers() -> list[Any]:
    """The sharing routes (imported late: controllers import services, not the other way round)."""
    from vault.http.access_log import AccessLogController
    from vault.http.issuance import IssuanceController
    from vault.http.requests import RequestController
    from vault.http.sharing import GrantController, LinkController, SharedController, ShareLinkController

    return [
        GrantController,
        SharedController,
        LinkController,
        ShareLinkController,
        RequestController,
        IssuanceController,
        AccessLogController,
    ]


class TrustRootVerifier:
    """`signing.PdfVerifier` over the same trust anchors the signature endpoints use (`VAULT_TRUST_ROOTS`, plus the
    development PKI's root in development; production refuses to start without trust roots). Loaded on first
    use, in a worker thread."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._verifier: signing.PdfVerifier | None = None

    def _load(self) -> signing.PdfVerifier:
        from vault.signatures.setup import trust_roots

        dev_pki = None
        if self._settings.env == "development":
            dev_pki = signing.ensure_dev_pki(self._settings.resolved_data_dir / DEV_PKI_DIRECTORY)
        return signing.PdfVerifier(trust_roots(self._settings, dev_pki), max_pdf_bytes=MAX_ISSUED_BYTES)

    async def verify(self, pdf: bytes) -> signing.VerificationReport:
        """Verify every signature of `pdf` (see `signing.PdfVerifier.verify`)."""
        if self._verifier is None:
            self._verifier = await asyncio.to_thread(self._load)
        return await self._verifier.verify(pdf)


def sharing_services(
    state: Any,
    settings: Settings,
    *,
    db: Database,
    store: storage.ObjectStore,
    keys: KeyService,
    events: EventRecorder,
    documents: DocumentService,
) -> dict[str, Any]:
    """The sharing services for `app.state`. They read the time from `state.sharing_clock` on every call, so
    tests move time by replacing that callable."""
    state.sharing_clock = utcnow

    def clock() -> datetime:
        now: Callable[[], datetime] = state.sharing_clock
        return now()

    if isinstance(documents.access, GrantAccessPolicy):
        documents.access.clock = clock
    return {
        "grants": GrantService(db, documents, events, clock),
        "links": LinkService(db, documents, events, public_url=settings.resolved_public_url, clock=clock),
        "requests": RequestService(db, keys, documents, events, clock),
        "issuance": IssuanceService(documents, TrustRootVerifier(settings), max_bytes=MAX_ISSUED_BYTES),
        "access_log": AccessLogService(db, documents),
    }
