"""Composing the portal: its services (built by the composition root), and its routes and static files."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import auth
from vault.accounts.keys import KeyService
from vault.core.clock import Clock
from vault.core.database import Database
from vault.http.security import TokenGate
from vault.settings import Settings
from vault.web.csrf import CsrfTokens
from vault.web.sessions import SessionStore

__all__ = ("CALLBACK_PATH", "WebServices", "web_route_handlers", "web_services")

CALLBACK_PATH = "/auth/callback"


@dataclass(frozen=True)
class WebServices:
    """What the portal's pages share.

    Attributes:
        sessions: The server-side sessions.
        csrf: CSRF tokens of forms.
        login: The OpenID Connect relying party (authlib).
        gate: The API's token gate: its validator reads the roles from the access token of a sign-in.
    """

    sessions: SessionStore
    csrf: CsrfTokens
    login: auth.BrowserLogin
    gate: TokenGate


def web_services(
    settings: Settings,
    *,
    db: Database,
    keys: KeyService,
    clock: Clock,
    gate: TokenGate,
    dev: auth.DevIdentityProvider | None,
) -> WebServices:
    """The portal's services for the `Services` container."""
    transport = None
    if dev is not None:
        from vault.web.dev_transport import dev_provider_transport

        transport = dev_provider_transport(dev)
    login = auth.BrowserLogin(
        settings.resolved_issuer,
        settings.web_client_id,
        settings.web_client_secret or None,
        redirect_uri=settings.resolved_public_url + CALLBACK_PATH,
        scope=settings.web_scopes,
        transport=transport,
    )
    sessions = SessionStore(
        db,
        client_id=settings.web_client_id,
        idle=timedelta(minutes=settings.web_session_idle_minutes),
        absolute=timedelta(hours=settings.web_session_hours),
        clock=clock,
    )
    return WebServices(sessions=sessions, csrf=CsrfTokens(db, keys), login=login, gate=gate)


def web_route_handlers() -> list[Any]:
    """The portal's own routes: sign-in, the public pages and the static files. Each domain's pages
    (`vault/<domain>/pages.py`) are listed by the composition root: this package imports no domain."""
    from litestar.static_files import create_static_files_router

    from vault.web.home import HomeController
    from vault.web.login import LoginController
    from vault.web.rendering import STATIC_DIR

    static = create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        opt={"exclude_from_auth": True},
        include_in_schema=False,
        send_as_attachment=False,
    )
    return [
        HomeController,
        LoginController,
        static,
    ]
