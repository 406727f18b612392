"""The composition root: `create_app(settings)` builds the Litestar app; clients are opened in the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar import Litestar, Request
from litestar.datastructures import State
from litestar.middleware.base import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

import auth
import storage
from vault.accounts.keys import KeyService
from vault.accounts.service import AccountService
from vault.audit.log import AuditLog
from vault.database import Database, create_engine
from vault.documents.service import DocumentService
from vault.errors import UpstreamUnavailable
from vault.events import EventRecorder
from vault.http.admin import AdminController
from vault.http.audit import AuditController, audit_key
from vault.http.documents import DocumentController
from vault.http.link_redaction import install_link_token_filter
from vault.http.openapi import document_problem_responses
from vault.http.problems import exception_handlers
from vault.http.security import BearerAuthMiddleware
from vault.http.signatures import SignatureController, verify_upload
from vault.http.system import MeController, SystemController
from vault.principal import Caller
from vault.settings import Settings
from vault.sharing.grants import GrantAccessPolicy
from vault.sharing.wiring import sharing_controllers, sharing_services
from vault.signatures.service import SignatureService
from vault.signatures.setup import build_signing

__all__ = ("create_app",)

log = logging.getLogger(__name__)
DEV_IDP_PATH = "/dev-idp"


def _dev_provider(settings: Settings) -> auth.DevIdentityProvider | None:
    if not settings.uses_dev_identity_provider:
        return None
    settings.resolved_data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return auth.DevIdentityProvider.load_or_create(
        settings.resolved_data_dir / "dev-idp-key.pem",
        settings.resolved_issuer,
        settings.oidc_audience,
        env=settings.env,
    )


def _dev_provider_client(provider: auth.DevIdentityProvider) -> httpx.AsyncClient:
    """Discovery and JWKS of the built-in provider answered in-process (no request to ourselves)."""

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/.well-known/openid-configuration"):
            return httpx.Response(200, json=provider.discovery_document())
        if path.endswith("/jwks"):
            return httpx.Response(200, json=provider.jwks())
        return httpx.Response(404)

    return httpx.AsyncClient(transport=httpx.MockTransport(answer))


def _token_validator(settings: Settings, http: httpx.AsyncClient) -> auth.TokenValidator:
    policy = auth.TokenPolicy(
        issuer=settings.resolved_issuer,
        audience=settings.oidc_audience,
        algorithms=settings.algorithms,
        roles_claim=settings.oidc_roles_claim,
        agency_claim=settings.oidc_agency_claim,
    )
    return auth.TokenValidator(policy, auth.JwksCache(settings.resolved_issuer, http))


async def _open_audit_log(settings: Settings, db: Database, keys: KeyService) -> AuditLog:
    """The audit log with its checkpoint key (an Ed25519 seed stored wrapped under the KEK)."""
    async with db.transaction() as session:
        seed = await keys.service_secret(
            session,
            "audit-checkpoint-ed25519",
            lambda: Ed25519PrivateKey.generate().private_bytes_raw(),
        )
    return AuditLog(settings.resolved_audit_origin, Ed25519PrivateKey.from_private_bytes(seed))


@contextlib.asynccontextmanager
async def _lifespan(app: Litestar) -> AsyncIterator[None]:
    """Open every client the service needs; close them all on shutdown."""
    state = app.state
    settings: Settings = state.settings
    settings.resolved_data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    install_link_token_filter()  # share-link tokens travel in /s/<token> paths: keep them out of logs
    async with contextlib.AsyncExitStack() as stack:
        db = Database(create_engine(settings.resolved_database_url))
        stack.push_async_callback(db.dispose)
        store = storage.store_from_url(settings.resolved_storage_url)
        stack.push_async_callback(store.close)
        provider = storage.key_provider_from_url(settings.resolved_key_provider)
        if callable(close_provider := getattr(provider, "close", None)):
            stack.callback(close_provider)  # the PKCS#11 session
        keys = KeyService(provider)
        dev: auth.DevIdentityProvider | None = state.dev_idp
        http = _dev_provider_client(dev) if dev else httpx.AsyncClient(timeout=httpx.Timeout(5.0))
        stack.push_async_callback(http.aclose)
        events = EventRecorder(lambda: _open_audit_log(settings, db, keys), db.sessions)
        try:
            await events.log()
        except UpstreamUnavailable:
            log.warning("database or key provider unavailable at start; the audit log opens on first use")
        state.update(
            db=db,
            store=store,
            key_service=keys,
            token_validator=_token_validator(settings, http),
            events=events,
            documents=DocumentService(
                db, store, keys, events, max_upload_bytes=settings.max_upload_bytes, access=GrantAccessPolicy()
            ),
        )
        state.update(
            sharing_services(state, settings, db=db, store=store, keys=keys, events=events, documents=state.documents)
        )
        setup = await asyncio.to_thread(build_signing, settings)
        stack.callback(setup.backend.close)
        stack.push_async_callback(setup.service.aclose)
        state.update(
            pdf_verifier=setup.verifier,
            signatures=SignatureService(state.documents, events, setup.service, setup.verifier),
            accounts=AccountService(db, store, state.documents, events),
        )
        stop = asyncio.Event()
        chores = [
            asyncio.create_task(_every(settings.checkpoint_interval_seconds, stop, _checkpoint, state)),
            asyncio.create_task(_every(settings.sweep_interval_seconds, stop, _sweep, state)),
        ]
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*chores)


async def _every(interval: float, stop: asyncio.Event, chore: Callable[[State], Awaitable[None]], state: State) -> None:
    """Run `chore` every `interval` seconds until `stop`; a failed run is logged and retried next time."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
            return
        try:
            await chore(state)
        except Exception:  # background chores must outlive a failing dependency
            log.warning("background task %s failed; retrying at the next interval", chore.__name__, exc_info=True)


async def _checkpoint(state: State) -> None:
    """Sign a checkpoint of the audit log."""
    audit = await state.events.log()
    async with state.db.transaction() as session:
        await audit.checkpoint(session)


async def _sweep(state: State) -> None:
    """Abort multipart uploads and remove temp files that a crashed or cut upload left behind."""
    removed = await state.store.sweep_incomplete(older_than=3600.0)
    if removed:
        log.info("swept %d incomplete uploads", removed)


async def _record_dev_login(request: Request[Any, Any, Any], username: str) -> None:
    """A sign-in at the development provider is an audit event like any other login."""
    user = auth.DEMO_USERS.get(username)
    if user is None:
        return
    state = request.app.state
    caller = Caller(
        subject=user.subject,
        issuer=state.settings.resolved_issuer,
        roles=frozenset(user.roles),
        agency=user.agency,
        client_id="dev-idp",
    )
    await state.events.append_now(state.events.event("auth.login", "success", caller))


def _openapi() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Citizen Vault",
        version="1",
        description="Encrypted document vault and e-signature service.",
        path="/schema",
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(
                    type="http", scheme="bearer", bearer_format="JWT", description="OIDC access token"
                )
            }
        ),
        security=[{"bearer": []}],
    )


def create_app(settings: Settings | None = None, **state: Any) -> Litestar:
    """Build the service. Nothing connects until the app starts (lifespan)."""
    settings = settings or Settings()
    dev = _dev_provider(settings)
    route_handlers: list[Any] = [
        SystemController,
        MeController,
        DocumentController,
        SignatureController,
        verify_upload,
        AuditController,
        audit_key,
        AdminController,
    ]
    route_handlers += sharing_controllers()
    if dev is not None:
        from vault.http.dev_idp import dev_idp_router

        route_handlers.append(dev_idp_router(dev, on_login=_record_dev_login))
    app = Litestar(
        route_handlers=route_handlers,
        middleware=[DefineMiddleware(BearerAuthMiddleware, exclude=["^/schema"])],
        exception_handlers=exception_handlers,
        openapi_config=_openapi(),
        lifespan=[_lifespan],
        state=State({"settings": settings, "dev_idp": dev, **state}),
        request_max_body_size=1024 * 1024,
        debug=False,
    )
    document_problem_responses(app)
    return app
