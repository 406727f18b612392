"""What every portal page knows about its request: the session, the language, the CSRF token; and rendering."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response
from litestar.datastructures import Cookie, FormMultiDict
from litestar.di import NamedDependency, Provide
from litestar.response import Redirect, Template

from vault.core.principal import Caller
from vault.settings import Settings
from vault.web.csrf import CSRF_FIELD
from vault.web.errors import error_texts
from vault.web.i18n import LANG_COOKIE, LANGUAGES, choose_language, gettext_, use_language
from vault.web.rendering import page_headers
from vault.web.sessions import SignedIn, new_session_token
from vault.web.wiring import WebServices

__all__ = ("Portal", "PortalPages", "cookie_name", "provide_portal", "uses_https")

LANG_COOKIE_SECONDS = 365 * 24 * 3600


def uses_https(settings: Settings) -> bool:
    """Whether the portal is served over https (its public URL says so)."""
    return settings.resolved_public_url.startswith("https://")


def cookie_name(settings: Settings) -> str:
    """The session cookie's name: `__Host-` prefixed over https (host-only, Secure, Path=/; RFC 6265bis)."""
    return "__Host-vault-session" if uses_https(settings) else "vault-session"


@dataclass
class Portal:
    """One request as the portal sees it.

    Attributes:
        request: The request.
        settings: The service settings.
        web: The portal's services.
        user: Who is signed in, or None.
        language: The page language.
        session_token: The browser's session cookie value (a fresh one when it had none).
        csrf_token: The CSRF token for forms on this page.
        cookies: Cookies to set on the response.
    """

    request: Request[Any, Any, Any]
    settings: Settings
    web: WebServices
    user: SignedIn | None
    language: str
    session_token: str
    csrf_token: str
    cookies: list[Cookie] = field(default_factory=list)

    def session_cookie(self, value: str, *, max_age: int | None = None) -> Cookie:
        """The session cookie carrying `value`: HttpOnly, SameSite=Lax, Path=/, Secure over https."""
        return Cookie(
            key=cookie_name(self.settings),
            value=value,
            path="/",
            max_age=max_age,
            httponly=True,
            samesite="lax",
            secure=uses_https(self.settings),
        )

    def headers(self, *, no_referrer: bool = False) -> dict[str, str]:
        """The page's security headers (CSP with the identity provider as a form target)."""
        return page_headers([self.settings.resolved_issuer], no_referrer=no_referrer)

    def render(self, template: str, *, status_code: int = 200, no_referrer: bool = False, **context: Any) -> Template:
        """The page `template` with the portal's context, headers and cookies."""
        query = {k: v for k, v in self.request.query_params.items() if k != "lang"}
        switch = {code: "?" + urlencode({**query, "lang": code}) for code in LANGUAGES if code != self.language}
        return Template(
            template_name=template,
            context={
                "lang": self.language,
                "language_switch": switch,
                "user": self.user,
                "csrf_field": CSRF_FIELD,
                "csrf_token": self.csrf_token,
                "path": self.request.url.path,
                **context,
            },
            status_code=status_code,
            headers=self.headers(no_referrer=no_referrer),
            cookies=list(self.cookies),
            media_type="text/html",
        )

    def redirect(self, location: str, *, cookies: list[Cookie] | None = None) -> Redirect:
        """A 303 to `location` that also sets this request's pending cookies."""
        return Redirect(
            location,
            status_code=303,
            headers={"Cache-Control": "no-store"},
            cookies=[*self.cookies, *(cookies or [])],
        )

    @property
    def caller(self) -> Caller:
        """The signed-in user as a caller of the services (only after `refuse` returned None)."""
        if self.user is None:
            raise RuntimeError("no one is signed in: check `refuse()` first")
        return self.user.caller

    def refuse(self, *roles: str) -> Response[Any] | None:
        """None when someone with one of `roles` (any role when none given) is signed in; else the answer:
        off to sign-in for a visitor, a 403 page for a signed-in user without the role."""
        if self.user is None:
            query = urlencode({"next": self.request.url.path})
            return self.redirect(f"/login?{query}")
        if roles and not self.user.caller.has_role(*roles):
            title, explanation = error_texts(403)
            return self.render("error.html", status_code=403, status=403, title=title, explanation=explanation)
        return None

    async def csrf_ok(self, presented: object) -> bool:
        """Whether a form's CSRF token belongs to this browser's session."""
        existing = self.request.cookies.get(cookie_name(self.settings))
        return await self.web.csrf.check(existing, presented if isinstance(presented, str) else None)

    def csrf_refused(self) -> Response[Any]:
        """The page answering a form post without a valid CSRF token (403)."""
        title = gettext_("This form has expired")
        explanation = gettext_(
            "For your security, forms only work for a limited time and only from this site. Go back, reload the page"
            " and try again."
        )
        return self.render("error.html", status_code=403, status=403, title=title, explanation=explanation)

    async def posted_form(self, *roles: str) -> FormMultiDict | Response[Any]:
        """The posted form of someone signed in with one of `roles`, its CSRF token checked; else the answer
        (sign-in, 403 for the role, or the expired-form page): `if isinstance(form := ..., Response): return form`.
        """
        if (refused := self.refuse(*roles)) is not None:
            return refused
        form = await self.request.form()
        if not await self.csrf_ok(form.get(CSRF_FIELD)):
            return self.csrf_refused()
        return form


async def provide_portal(
    request: Request[Any, Any, Any], web: NamedDependency[WebServices], settings: NamedDependency[Settings]
) -> Portal:
    """The portal context of a request (a dependency of every page)."""
    token = request.cookies.get(cookie_name(settings))
    user = await web.sessions.signed_in(token)
    cookies: list[Cookie] = []
    asked = request.query_params.get("lang")
    language = choose_language(asked, request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))
    use_language(language)
    if asked in LANGUAGES:
        cookies.append(
            Cookie(
                key=LANG_COOKIE,
                value=language,
                path="/",
                max_age=LANG_COOKIE_SECONDS,
                httponly=True,
                samesite="lax",
                secure=uses_https(settings),
            )
        )
    portal = Portal(request, settings, web, user, language, token or new_session_token(), "", cookies)
    if token is None and request.method in ("GET", "HEAD"):
        # A browser without a session gets an anonymous one (cookie only, no row) to bind its CSRF tokens to.
        # Never on a POST: a cross-site post arrives without our SameSite=Lax cookie, and answering it with a
        # new cookie would overwrite the visitor's real session (a forged sign-out).
        cookies.append(portal.session_cookie(portal.session_token))
    portal.csrf_token = await web.csrf.token_for(portal.session_token)
    return portal


class PortalPages(Controller):
    """Base of every portal page controller: the portal's session, not a bearer token, says who the caller is
    (the API's authentication skips these routes), pages are not API operations, and each handler may take the
    `portal` of its request."""

    opt = {"exclude_from_auth": True}
    include_in_schema = False
    dependencies = {"portal": Provide(provide_portal)}
