"""Security headers on every response (API, errors, docs); a handler that sets its own keeps them."""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ("SecurityHeadersMiddleware",)

API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
HSTS = "max-age=63072000; includeSubDomains"


class SecurityHeadersMiddleware:
    """Adds nosniff, a Content-Security-Policy (no framing), no referrer and, behind https, HSTS.

    Args:
        app: the next ASGI app.
        https: whether clients reach the service over https (its public URL), which turns HSTS on.
    """

    def __init__(self, app: ASGIApp, https: bool = False) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        docs = scope["path"].startswith("/schema")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                defaults = {
                    "X-Content-Type-Options": "nosniff",
                    "Content-Security-Policy": DOCS_POLICY if docs else API_POLICY,
                    "Referrer-Policy": "no-referrer",
                    "X-Frame-Options": "DENY",
                    "Cross-Origin-Opener-Policy": "same-origin",
                }
                if self.https:
                    defaults["Strict-Transport-Security"] = HSTS
                for name, value in defaults.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
