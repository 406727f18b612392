"""Security headers on every response (API, errors, docs); a handler that sets its own keeps them."""

from __future__ import annotations

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
        self._api = self._defaults(API_POLICY, https)
        self._docs = self._defaults(DOCS_POLICY, https)

    @staticmethod
    def _defaults(policy: str, https: bool) -> tuple[tuple[bytes, bytes], ...]:
        defaults = {
            "x-content-type-options": "nosniff",
            "content-security-policy": policy,
            "referrer-policy": "no-referrer",
            "x-frame-options": "DENY",
            "cross-origin-opener-policy": "same-origin",
        }
        if https:
            defaults["strict-transport-security"] = HSTS
        return tuple((name.encode("latin-1"), value.encode("latin-1")) for name, value in defaults.items())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        defaults = self._docs if scope["path"].startswith("/schema") else self._api

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # one pass over the raw headers (this runs on every response): a handler's own value wins
                headers = list(message.get("headers") or ())
                present = {bytes(name).lower() for name, _ in headers}
                headers.extend(item for item in defaults if item[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
