"""The composition root: one init plugin that builds settings, leaves, repositories' services and routes.

Every part is created in the app's lifespan (nothing connects at import or build time), put in a typed
`Services` container, and handed to route handlers by name (`documents: NamedDependency[DocumentService]`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar import Litestar, Request
from litestar.config.app import AppConfig
from litestar.di import Provide
from litestar.middleware.base import DefineMiddleware
from litestar.plugins import InitPluginProtocol

import auth
import storage
from vault.access_log.controllers import AccessLogController
from vault.access_log.pages import AccessLogPage
from vault.access_log.service import AccessLogService
from vault.accounts.controllers import MeController, directory_search
from vault.accounts.directory import AccountDirectory
from vault.accounts.keys import KeyService
from vault.accounts.pseudonyms import PseudonymService
from vault.accounts.trail import AuditTrail
from vault.admin.controllers import AdminController
from vault.admin.service import LegalHoldService
from vault.audit.actions import AuditAction, Outcome
from vault.audit.controllers import AuditController, TilesController, audit_key
from vault.audit.integrator import IntegratorConfig
from vault.audit.log import AuditLog
from vault.audit.recorder import AuditRecorder
from vault.audit.service import AuditService
from vault.auditor.pages import AuditPages
from vault.background import Chores
from vault.container import Services, ServiceSlot
from vault.core.clock import Clock, utcnow
from vault.core.database import Database, create_engine
from vault.core.errors import UpstreamUnavailable
from vault.core.principal import Caller
from vault.core.ratelimit import RateLimiter
from vault.documents.archival import ArchivalStore
from vault.documents.content import ContentVault
from vault.documents.controllers import DocumentController
from vault.documents.pages import DocumentPages, DocumentSections
from vault.documents.service import DocumentService
from vault.erasure.controllers import erase_account
from vault.erasure.pages import AccountPages
from vault.erasure.service import AccountErasure
from vault.grants.controllers import GrantController, SharedController
from vault.grants.pages import GrantPages, GrantSection
from vault.grants.pages_shared import AgencyDocumentPages
from vault.grants.policy import GrantAccessPolicy
from vault.grants.service import GrantService
from vault.http.health import ReadinessProbe, SystemController
from vault.http.observability import SIGNING_QUEUE, VERIFY_QUEUE, metrics_config, metrics_controller
from vault.http.openapi import docs_assets_router, openapi_config
from vault.http.params import reject_unknown_query
from vault.http.problems import exception_handlers
from vault.http.security import BearerAuthMiddleware, TokenGate
from vault.issuance.controllers import IssuanceController
from vault.issuance.pages import IssuePages
from vault.issuance.service import IssuanceService
from vault.links.controllers import LinkController
from vault.links.pages import LinkPages, LinkSection, ShareLinkController
from vault.links.redaction import install_link_token_filter
from vault.links.service import LinkService
from vault.requests.controllers import RequestController
from vault.requests.pages import RequestPages
from vault.requests.service import RequestService
from vault.settings import Settings
from vault.signatures.controllers import SignatureController, verify_upload
from vault.signatures.evidence import EvidenceService
from vault.signatures.pages import VerifyController
from vault.signatures.pages_document import SignatureReportPages, SignPages, VerificationSection
from vault.signatures.published import published_crls_router
from vault.signatures.renewal import ArchivalRenewal
from vault.signatures.service import MAX_PDF_BYTES, SignatureService
from vault.signatures.setup import build_signing
from vault.startup import agree_with_the_deployment, open_key_provider
from vault.web.errors import with_error_pages
from vault.web.rendering import template_config
from vault.web.wiring import web_route_handlers, web_services

__all__ = ("VaultPlugin",)

log = logging.getLogger(__name__)
DEV_IDP_PATH = "/dev-idp"
ROUTES: tuple[Any, ...] = (
    SystemController,
    MeController,
    directory_search,
    erase_account,
    DocumentController,
    SignatureController,
    verify_upload,
    GrantController,
    SharedController,
    LinkController,
    RequestController,
    IssuanceController,
    AccessLogController,
    AuditController,
    TilesController,
    audit_key,
    AdminController,
)
# the portal's pages of each domain; the portal's own (sign-in, home, verify, static) come from vault.web
PAGES: tuple[Any, ...] = (DocumentPages, LinkPages, ShareLinkController, AccessLogPage, RequestPages, VerifyController)
PAGES += (AccountPages, GrantPages, SignPages, SignatureReportPages)  # citizen pages (portal-citizen)
PAGES += (AuditPages, AgencyDocumentPages, IssuePages)  # auditor and officer pages (portal-roles)


class VaultPlugin(InitPluginProtocol):
    """Wires the vault into a Litestar app: routes, dependencies, authentication, errors, OpenAPI, lifespan."""

    def __init__(self, settings: Settings, clock: Clock = utcnow) -> None:
        settings.check_production()
        self.settings = settings
        self.clock = clock
        self.slot = ServiceSlot()
        self.gate = TokenGate()
        self.dev_idp = _dev_provider(settings)
        self.chores: Chores | None = None

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        self._configure_routes(app_config)
        self._configure_dependencies(app_config)
        self._configure_security(app_config)
        app_config.exception_handlers = {**with_error_pages(exception_handlers), **app_config.exception_handlers}
        app_config.openapi_config = openapi_config()
        app_config.route_handlers = [*app_config.route_handlers, docs_assets_router()]
        app_config.lifespan = [*app_config.lifespan, self._lifespan]
        app_config.request_max_body_size = 1024 * 1024
        app_config.before_request = reject_unknown_query
        return app_config

    def _configure_routes(self, app_config: AppConfig) -> None:
        app_config.route_handlers = [
            *app_config.route_handlers,
            *ROUTES,
            metrics_controller(),
            *PAGES,
            *web_route_handlers(),
            published_crls_router(),
        ]
        app_config.template_config = template_config()
        if self.settings.env == "development":  # never in production: the CA keys of the development PKI
            from vault.signatures.devpki import dev_pki_router

            app_config.route_handlers.append(dev_pki_router())
        if self.dev_idp is not None:
            from vault.http.dev_idp import dev_idp_router

            app_config.route_handlers.append(dev_idp_router(self.dev_idp, on_login=self._record_dev_login))

    def _configure_dependencies(self, app_config: AppConfig) -> None:
        slot = self.slot

        def provider(name: str) -> Provide:
            return Provide(lambda: getattr(slot.get(), name), sync_to_thread=False)

        app_config.dependencies = {**{name: provider(name) for name in Services.names()}, **app_config.dependencies}

    def _configure_security(self, app_config: AppConfig) -> None:
        app_config.middleware = [
            metrics_config().middleware,
            DefineMiddleware(BearerAuthMiddleware, gate=self.gate, exclude=["^/schema"]),
            *app_config.middleware,
        ]

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Litestar) -> AsyncIterator[None]:
        """Open every client the service needs; close them all on shutdown."""
        settings = self.settings
        settings.prepare_data_dir()
        install_link_token_filter()  # share-link tokens travel in /s/<token> paths: keep them out of logs
        async with contextlib.AsyncExitStack() as stack:
            services = await self._build(settings, stack)
            self.slot.fill(services)
            self.gate.validator = _token_validator(settings, await _http_client(self.dev_idp, stack))
            chores = self.chores = Chores(services)
            self.gate.on_denied = chores.count_token_denial
            self.gate.on_seen = services.directory.seen
            VERIFY_QUEUE.set_function(lambda: services.verifier.admitted)
            SIGNING_QUEUE.set_function(lambda: services.signing_pool.in_flight)
            await chores.start()
            await services.events.start()  # the audit integrator: sequences what every instance queued
            try:
                yield
            finally:
                await chores.stop()
                await services.events.stop()
                self.gate.validator = None
                self.slot.fill(None)

    async def _build(self, settings: Settings, stack: contextlib.AsyncExitStack) -> Services:
        db = Database(
            create_engine(
                settings.resolved_database_url, pool_size=settings.db_pool_size, pool_timeout=settings.db_pool_timeout
            )
        )
        stack.push_async_callback(db.dispose)
        store = storage.store_from_url(settings.resolved_storage_url)
        stack.push_async_callback(store.close)
        provider = open_key_provider(settings)
        if callable(close_provider := getattr(provider, "close", None)):
            stack.callback(close_provider)  # the PKCS#11 session
        keys = KeyService(provider)
        await agree_with_the_deployment(settings, db, keys)
        events = AuditRecorder(
            lambda: _open_audit_log(settings, db, keys),
            db.sessions,
            IntegratorConfig(
                batch_size=settings.audit_batch_size,
                poll_interval=settings.audit_poll_interval_seconds,
                checkpoint_interval=settings.checkpoint_interval_seconds,
            ),
        )
        try:
            await events.log()
        except UpstreamUnavailable:
            log.warning("database or key provider unavailable at start; the audit log opens on first use")
        trail = AuditTrail(events, PseudonymService(keys))
        content = ContentVault(store, keys, trail, settings.max_upload_bytes)
        documents = DocumentService(
            db, content, keys, trail, GrantAccessPolicy(self.clock), self.clock, kinds=settings.kinds
        )
        links = LinkService(
            db,
            content,
            trail,
            public_url=settings.resolved_public_url,
            clock=self.clock,
            max_password_failures=settings.link_password_attempts,
        )
        setup = await asyncio.to_thread(build_signing, settings)
        stack.callback(setup.close)
        stack.push_async_callback(setup.service.aclose)
        stack.push_async_callback(setup.verifier.aclose)
        stack.push_async_callback(setup.pool.aclose)
        stack.push_async_callback(setup.seals.aclose)
        grants = GrantService(db, trail, self.clock)
        directory = AccountDirectory(db)
        signatures = SignatureService(
            documents,
            setup.verifier,
            identity=setup.identity,
            seals=setup.seals,
            db=db,
            trail=trail,
            timestamping=setup.timestamping,
        )
        return Services(
            settings=settings,
            clock=self.clock,
            db=db,
            store=store,
            keys=keys,
            events=events,
            audit=AuditService(events, db.sessions, actor_refs=trail.actor_ref),
            trail=trail,
            documents=documents,
            grants=grants,
            links=links,
            requests=RequestService(db, keys, trail, self.clock, kinds=settings.kinds),
            issuance=IssuanceService(documents, setup.verifier, setup.seals, max_bytes=MAX_PDF_BYTES),
            access_log=AccessLogService(db, trail.pseudonyms, events),
            signatures=signatures,
            evidence=EvidenceService(documents, events, db, MAX_PDF_BYTES),
            archival=ArchivalRenewal(
                ArchivalStore(db, content, keys, trail, self.clock),
                setup.pool,  # the new timestamp is made in a signing worker, off the event loop
                margin=timedelta(days=settings.lta_renewal_margin_days),
                clock=self.clock,
                max_bytes=MAX_PDF_BYTES,
            ),
            verifier=setup.verifier,
            signing_pool=setup.pool,
            erasure=AccountErasure(db, content, trail),
            legal_holds=LegalHoldService(db, trail),
            directory=directory,
            limiter=RateLimiter(db, self.clock),
            readiness=ReadinessProbe(
                [("database", db.check), ("object_store", store.probe_write), ("key_provider", keys.check)]
            ),
            dev_idp=self.dev_idp,
            dev_pki=setup.dev_pki,
            published_crls=setup.published_crls,
            document_sections=DocumentSections(
                LinkSection(links), GrantSection(grants, directory), VerificationSection()
            ),
            web=web_services(settings, db=db, keys=keys, clock=self.clock, gate=self.gate, dev=self.dev_idp),
        )

    async def _record_dev_login(self, _: Request[Any, Any, Any], username: str) -> None:
        """A sign-in at the development provider is an audit event like any other login."""
        user = auth.DEMO_USERS.get(username)
        if user is None:
            return
        caller = Caller(
            subject=user.subject,
            issuer=self.settings.resolved_issuer,
            roles=frozenset(user.roles),
            agency=user.agency,
            client_id="dev-idp",
        )
        services = self.slot.get()
        async with services.db.transaction() as session:
            event = await services.trail.event(session, AuditAction.AUTH_LOGIN, Outcome.SUCCESS, caller)
            await services.trail.record(session, event)


def _dev_provider(settings: Settings) -> auth.DevIdentityProvider | None:
    if not settings.uses_dev_identity_provider:
        return None
    settings.prepare_data_dir()
    return auth.DevIdentityProvider.load_or_create(
        settings.resolved_data_dir / "dev-idp-key.pem",
        settings.resolved_issuer,
        settings.oidc_audience,
        env=settings.env,
    )


async def _http_client(dev: auth.DevIdentityProvider | None, stack: contextlib.AsyncExitStack) -> httpx.AsyncClient:
    """The client for discovery and JWKS; the built-in provider is answered in-process (no request to ourselves)."""
    if dev is None:
        client = httpx.AsyncClient(timeout=httpx.Timeout(5.0))
    else:

        def answer(request: httpx.Request) -> httpx.Response:
            path = request.url.path
            if path.endswith("/.well-known/openid-configuration"):
                return httpx.Response(200, json=dev.discovery_document())
            if path.endswith("/jwks"):
                return httpx.Response(200, json=dev.jwks())
            return httpx.Response(404)

        client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    stack.push_async_callback(client.aclose)
    return client


def _token_validator(settings: Settings, http: httpx.AsyncClient) -> auth.TokenValidator:
    policy = auth.TokenPolicy(
        issuer=settings.resolved_issuer,
        audience=settings.oidc_audience,
        algorithms=settings.algorithms,
        roles_claim=settings.oidc_roles_claim,
        agency_claim=settings.oidc_agency_claim,
        max_lifetime_seconds=settings.oidc_max_token_lifetime_seconds,
        # production: the issuer and the JWKS URL it advertises must be https (plain http on loopback aside)
        require_https=settings.env == "production",
    )
    jwks = auth.JwksCache(settings.resolved_issuer, http, require_https=policy.require_https)
    return auth.TokenValidator(policy, jwks)


async def _open_audit_log(settings: Settings, db: Database, keys: KeyService) -> AuditLog:
    """The audit log with its checkpoint key (an Ed25519 seed stored wrapped under the KEK)."""
    async with db.transaction() as session:
        seed = await keys.service_secret(
            session,
            "audit-checkpoint-ed25519",
            lambda: Ed25519PrivateKey.generate().private_bytes_raw(),
        )
    return AuditLog(settings.resolved_audit_origin, Ed25519PrivateKey.from_private_bytes(seed))
