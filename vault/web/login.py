"""Browser sign-in and sign-out: `/login`, `/auth/callback`, `/logout` (authlib is the relying party)."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.response import Redirect

import auth
from vault.accounts.trail import AuditTrail
from vault.audit.actions import AuditAction, Outcome
from vault.core.errors import UpstreamUnavailable
from vault.core.principal import ROLES
from vault.web.csrf import CSRF_FIELD
from vault.web.i18n import gettext_
from vault.web.portal import Portal, provide_portal
from vault.web.sessions import LoginTransaction, SignedIn

__all__ = ("SIGNED_OUT_PATH", "LoginController", "csrf_refused", "safe_next")

log = logging.getLogger(__name__)
PUBLIC = {"exclude_from_auth": True}
SIGNED_OUT_PATH = "/?signed_out=1"


def safe_next(value: str | None) -> str:
    """Where to go after sign-in: a path on this site only (never `//host` or a full URL: no open redirect)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")) or any(ord(c) < 33 for c in value):
        return "/"
    return value


def _problem_page(portal: Portal, status: int, title: str, explanation: str) -> Response[Any]:
    return portal.render("error.html", status_code=status, status=status, title=title, explanation=explanation)


async def _record(trail: AuditTrail, action: AuditAction, user: SignedIn) -> None:
    with contextlib.suppress(UpstreamUnavailable):  # signing in and out do not depend on the log being up
        await trail.record_now(trail.entry(action, Outcome.SUCCESS, user.caller, details={"via": "portal"}))


async def _signed_in_user(portal: Portal, result: auth.LoginResult) -> SignedIn:
    """Who signed in: the ID token says who, the access token of the same exchange carries the roles.

    Raises:
        auth.LoginFailed: No access token, or it is invalid or names someone else.
    """
    validator = portal.web.gate.validator
    if validator is None:
        raise auth.ProviderUnavailable("the service is starting")
    if not result.access_token:
        raise auth.LoginFailed("no access token")
    try:
        principal = await validator.validate(result.access_token)
    except auth.InvalidToken as exc:
        raise auth.LoginFailed(f"access token: {exc.reason}") from exc
    if principal.subject != result.subject:
        raise auth.LoginFailed("access token subject")
    return SignedIn(
        subject=result.subject,
        issuer=principal.issuer,
        roles=frozenset(r for r in principal.roles if r in ROLES),
        agency=principal.agency,
        display_name=result.display_name,
        client_id=portal.settings.web_client_id,
        handle=principal.handle or result.claims.get("preferred_username"),
        id_token=result.id_token,
    )


class LoginController(Controller):
    """Sign-in through the configured OpenID provider and sign-out."""

    path = "/"
    opt = PUBLIC
    include_in_schema = False
    dependencies = {"portal": Provide(provide_portal)}

    @get("/login", cache=False)
    async def login(self, portal: NamedDependency[Portal]) -> Response[Any]:
        """Start a sign-in: a new transaction (state, nonce, PKCE) kept server-side, then off to the provider."""
        next_path = safe_next(portal.request.query_params.get("next"))
        if portal.user is not None:
            return portal.redirect(next_path)
        try:
            started = await portal.web.login.begin(ui_locales=portal.language)
        except auth.ProviderUnavailable:
            return _problem_page(
                portal, 503, gettext_("Sign-in is not available"), gettext_("Try again in a few minutes.")
            )
        transaction = LoginTransaction(started.state, started.nonce, started.code_verifier, next_path)
        await portal.web.sessions.begin_login(portal.session_token, transaction)
        return portal.redirect(started.url)

    @get("/auth/callback", cache=False)
    async def callback(self, portal: NamedDependency[Portal], trail: NamedDependency[AuditTrail]) -> Response[Any]:
        """The provider sent the browser back: check everything, then a new session under a new id."""
        sessions = portal.web.sessions
        transaction = await sessions.take_login(portal.request.cookies.get(portal.session_cookie("").key))
        if transaction is None:
            return _problem_page(
                portal,
                400,
                gettext_("Your sign-in has expired"),
                gettext_("It took too long or was started in another window. Please sign in again."),
            )
        started = auth.LoginStart("", transaction.state, transaction.nonce, transaction.code_verifier)
        try:
            result = await portal.web.login.complete(started, dict(portal.request.query_params))
            user = await _signed_in_user(portal, result)
        except auth.LoginFailed as exc:
            log.info("portal sign-in refused: %s", exc.reason)
            return _problem_page(
                portal, 400, gettext_("You could not be signed in"), gettext_("Please try to sign in again.")
            )
        except auth.ProviderUnavailable:
            return _problem_page(
                portal, 503, gettext_("Sign-in is not available"), gettext_("Try again in a few minutes.")
            )
        token = await sessions.sign_in(user)
        await _record(trail, AuditAction.AUTH_LOGIN, user)
        if portal.web.gate.on_seen is not None:
            await portal.web.gate.on_seen(user.caller)  # the directory learns who signs in through the portal
        cookie = portal.session_cookie(token, max_age=int(sessions.absolute.total_seconds()))
        return Redirect(transaction.next_path, status_code=303, headers={"Cache-Control": "no-store"}, cookies=[cookie])

    @post("/logout", status_code=303, cache=False)
    async def logout(self, portal: NamedDependency[Portal], trail: NamedDependency[AuditTrail]) -> Response[Any]:
        """Sign out: the session row is deleted, the cookie cleared, and the provider asked to end its session."""
        form = await portal.request.form()
        if not await portal.csrf_ok(form.get(CSRF_FIELD)):
            return csrf_refused(portal)
        user = await portal.web.sessions.end(portal.request.cookies.get(portal.session_cookie("").key))
        cleared = portal.session_cookie("", max_age=0)
        location = SIGNED_OUT_PATH
        if user is not None:
            await _record(trail, AuditAction.AUTH_LOGOUT, user)
            with contextlib.suppress(auth.ProviderUnavailable):
                after = portal.settings.resolved_public_url + SIGNED_OUT_PATH  # register it at the provider
                location = await portal.web.login.logout_url(user.id_token, after) or location
        return Redirect(location, status_code=303, headers={"Cache-Control": "no-store"}, cookies=[cleared])


def csrf_refused(portal: Portal) -> Response[Any]:
    """The page answering a form post without a valid CSRF token (403)."""
    return portal.csrf_refused()
