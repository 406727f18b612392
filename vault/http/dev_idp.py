"""HTTP routes of the built-in DEVELOPMENT identity provider, mounted at /dev-idp (issuer `{base}/dev-idp`).

Public by necessity (they are how one logs in), so every handler is excluded from authentication. The logic
lives in `auth.DevIdentityProvider`; these handlers only parse, call it, and render.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import ResponseHeader
from litestar.response import Redirect

import auth

__all__ = ("DEV_IDP_PATH", "dev_idp_router")

DEV_IDP_PATH = "/dev-idp"

_PUBLIC = {"exclude_from_auth": True}
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_PAGE_HEADERS = {
    **_NO_STORE,
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}}button{{display:block;width:100%;
margin:.4rem 0;padding:.6rem;text-align:left}}
.warn{{background:#fee;padding:.6rem;border:1px solid #c00}}</style>
</head><body><h1>{title}</h1>
<p class="warn">Development identity provider: no passwords, anyone can sign in as anyone.
It is refused in production.</p>
{body}</body></html>"""


def _page(title: str, body: str, status_code: int = 200) -> Response[str]:
    content = _PAGE.format(title=html.escape(title), body=body)
    return Response(content, status_code=status_code, media_type="text/html", headers=_PAGE_HEADERS)


def _error_page(exc: auth.AuthorizationRequestError) -> Response[str]:
    return _page("Sign-in refused", f"<p>{html.escape(exc.detail)}</p>", status_code=400)


def _oauth_error(error: str, description: str) -> Response[dict[str, str]]:
    # RFC 6749, 5.2: token endpoint errors are JSON with "error" and never cached
    return Response({"error": error, "error_description": description}, status_code=400, headers=_NO_STORE)


def _login_form(provider: auth.DevIdentityProvider, request: auth.AuthorizationRequest) -> str:
    buttons = "\n".join(
        f'<button type="submit" name="username" value="{html.escape(username)}">'
        f"<b>{html.escape(username)}</b> — {html.escape(user.name)} ({html.escape(', '.join(user.roles))})"
        "</button>"
        for username, user in auth.DEMO_USERS.items()
    )
    return (
        f"<p>Client <code>{html.escape(request.client_id)}</code> asks you to sign in"
        f" at <code>{html.escape(provider.issuer)}</code>. Pick a demo user:</p>"
        '<form method="post" action="authorize">'
        f'<input type="hidden" name="transaction" value="{html.escape(request.transaction_id)}">'
        f"{buttons}</form>"
    )


def _login_page_response(provider: auth.DevIdentityProvider, query: Mapping[str, str]) -> Response[str]:
    if query.get("response_type") != "code":
        return _page("Sign-in refused", "<p>only response_type=code is supported</p>", status_code=400)
    try:
        pending = provider.begin_authorization(
            client_id=query.get("client_id", ""),
            redirect_uri=query.get("redirect_uri", ""),
            code_challenge=query.get("code_challenge", ""),
            method=query.get("code_challenge_method", ""),
            state=query.get("state"),
            nonce=query.get("nonce"),
            scope=query.get("scope") or "openid",
        )
    except auth.AuthorizationRequestError as exc:
        return _error_page(exc)
    return _page("Sign in", _login_form(provider, pending))


def _login_response(provider: auth.DevIdentityProvider, username: str, transaction_id: str) -> Response[Any]:
    try:
        answer = provider.complete_login(username=username, transaction_id=transaction_id)
    except auth.AuthorizationRequestError as exc:
        return _error_page(exc)
    return Redirect(answer.location, status_code=303, headers=_NO_STORE)


def _token_response(provider: auth.DevIdentityProvider, form: dict[str, str]) -> Response[Any]:
    grant_type = form.get("grant_type", "")
    try:
        if grant_type == "authorization_code":
            body = provider.exchange_code(
                code=form.get("code", ""),
                client_id=form.get("client_id", ""),
                redirect_uri=form.get("redirect_uri", ""),
                code_verifier=form.get("code_verifier", ""),
            )
        elif grant_type == auth.DEV_USER_GRANT_TYPE:
            lifetime = 3600
            token = provider.issue_access_token(
                form.get("username", ""), client_id=form.get("client_id") or "vault-cli", lifetime=lifetime
            )
            body = {"access_token": token, "token_type": "Bearer", "expires_in": lifetime}
        else:
            # no password grant, no implicit: only the code flow with PKCE and the explicit dev grant
            return _oauth_error("unsupported_grant_type", "grant type not supported")
    except auth.AuthorizationRequestError as exc:
        return _oauth_error(exc.error, exc.detail)
    return Response(body, headers=_NO_STORE)


LoginHook = Callable[[Request[Any, Any, Any], str], Awaitable[None]]


def dev_idp_router(provider: auth.DevIdentityProvider, on_login: LoginHook | None = None) -> Router:
    """The development provider's routes, for `app.register` or `route_handlers`.

    Args:
        provider: The provider; its issuer must be this router's public URL (`http://HOST:PORT/dev-idp`).
        on_login: Awaited with the request and the demo user name after each successful sign-in or token grant
            (the service records it in the audit log).

    Returns:
        A router at `/dev-idp` with discovery, JWKS, the login page and the token endpoint, all public.
    """

    @get("/.well-known/openid-configuration", sync_to_thread=False)
    def discovery() -> dict[str, Any]:
        return provider.discovery_document()

    @get("/jwks", sync_to_thread=False)
    def jwks() -> dict[str, Any]:
        return provider.jwks()

    @get("/authorize", sync_to_thread=False)
    def login_page(request: Request[Any, Any, Any]) -> Response[str]:
        return _login_page_response(provider, request.query_params)

    @post("/authorize", status_code=303)
    async def login(request: Request[Any, Any, Any]) -> Response[Any]:
        form = await request.form()
        username = str(form.get("username", ""))
        response = _login_response(provider, username, str(form.get("transaction", "")))
        if on_login is not None and response.status_code == 303:
            await on_login(request, username)
        return response

    @post("/token", status_code=200)
    async def token(request: Request[Any, Any, Any]) -> Response[Any]:
        form = await request.form()
        fields = {key: str(value) for key, value in form.items()}
        response = _token_response(provider, fields)
        issued = isinstance(response.content, dict) and "access_token" in response.content
        granted = issued and fields.get("grant_type") == auth.DEV_USER_GRANT_TYPE
        if on_login is not None and granted:
            await on_login(request, fields.get("username", ""))
        return response

    return Router(
        path=DEV_IDP_PATH,
        route_handlers=[discovery, jwks, login_page, login, token],
        opt=_PUBLIC,
        include_in_schema=False,
        response_headers=[ResponseHeader(name="X-Content-Type-Options", value="nosniff")],
    )
