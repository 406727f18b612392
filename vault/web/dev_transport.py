"""The portal's way to the built-in development provider: answered in-process, no request to ourselves.

The browser still visits the provider's login page over HTTP; only the relying party's back-channel calls
(discovery, JWKS, the token endpoint) are answered here, by the same `auth.DevIdentityProvider`.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import httpx2

import auth

__all__ = ("dev_provider_transport",)


def dev_provider_transport(provider: auth.DevIdentityProvider) -> httpx2.MockTransport:
    """An httpx2 transport that answers the development provider's discovery, JWKS and token endpoints."""

    def answer(request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        if path.endswith("/.well-known/openid-configuration"):
            return httpx2.Response(200, json=provider.discovery_document())
        if path.endswith("/jwks"):
            return httpx2.Response(200, json=provider.jwks())
        if path.endswith("/token") and request.method == "POST":
            form = dict(parse_qsl(request.content.decode()))
            if form.get("grant_type") != "authorization_code":
                return httpx2.Response(400, json={"error": "unsupported_grant_type"})
            try:
                body = provider.exchange_code(
                    code=form.get("code", ""),
                    client_id=form.get("client_id", ""),
                    redirect_uri=form.get("redirect_uri", ""),
                    code_verifier=form.get("code_verifier", ""),
                )
            except auth.AuthorizationRequestError as exc:
                return httpx2.Response(400, json={"error": exc.error, "error_description": exc.detail})
            return httpx2.Response(200, json=body, headers={"Cache-Control": "no-store"})
        return httpx2.Response(404)

    return httpx2.MockTransport(answer)
