"""`create_app(settings)`: the Litestar app of the vault. All wiring lives in `vault.plugin.VaultPlugin`."""

from __future__ import annotations

from litestar import Litestar
from litestar.types import ASGIApp

from vault.container import Services
from vault.core.clock import Clock, utcnow
from vault.documents.lane import OwnerReadLane
from vault.http.headers import SecurityHeadersMiddleware
from vault.http.observability import RequestIdMiddleware, drain_logs, metrics_config
from vault.http.openapi import document_problem_responses
from vault.plugin import VaultPlugin
from vault.settings import Settings

__all__ = ("create_app", "services_of")


def create_app(settings: Settings | None = None, *, clock: Clock = utcnow) -> Litestar:
    """Build the service. Nothing connects until the app starts (lifespan)."""
    settings = settings or Settings()
    # logging_config=None: Litestar would replace the root logger's handlers when the app is built, after
    # `vault serve` configured them (vault.http.observability.configure_logging owns logging)
    app = Litestar(plugins=[VaultPlugin(settings, clock)], debug=False, logging_config=None, on_shutdown=[drain_logs])
    document_problem_responses(app)
    # outermost, so that errors raised before routing (authentication) get the headers too
    https = settings.resolved_public_url.startswith("https://")
    plugin = app.plugins.get(VaultPlugin)
    lane = OwnerReadLane(app.asgi_handler, plugin.slot, plugin.gate, metrics_config())
    app.on_shutdown.insert(0, lane.close)  # its own database connections (the logs drain last)
    handler: ASGIApp = SecurityHeadersMiddleware(lane, https=https)
    if settings.otel_endpoint:  # imported only then: without tracing, no OpenTelemetry SDK is loaded
        from vault.http.tracing import traced

        handler = traced(app, handler, settings.otel_endpoint, settings.otel_service_name)
    app.asgi_handler = RequestIdMiddleware(handler)  # outermost: the request id is known inside the span
    return app


def services_of(app: Litestar) -> Services:
    """The parts of a started app (tests and the CLI reach them here, never through `app.state`)."""
    plugin = app.plugins.get(VaultPlugin)
    return plugin.slot.get()
