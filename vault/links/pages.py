"""Share links in the browser.

- The landing, `/s/{token}`: looking (GET, HEAD) shows what is shared and never uses the link up; only the
  download action (POST) counts. Scripts get JSON (`Accept: application/json`) and the same POST.
- On a document's page, the citizen's links (`LinkSection`), and creating and withdrawing them (`LinkPages`).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from litestar import Controller, HttpMethod, Response, post, route
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Stream

from vault.core.clock import Clock
from vault.core.principal import Caller
from vault.documents.controllers import content_response
from vault.documents.pages import DocumentSections, document_page
from vault.documents.schemas import DocumentRead
from vault.documents.service import DocumentService
from vault.links.schemas import LinkLanding, NewLink
from vault.links.service import LinkPasswordRequired, LinkService
from vault.web.csrf import CSRF_FIELD
from vault.web.errors import wants_html
from vault.web.i18n import gettext_
from vault.web.login import csrf_refused
from vault.web.portal import Portal, PortalPages, cookie_name, provide_portal

__all__ = ("LINK_DAYS", "LINK_HEADERS", "LinkPages", "LinkSection", "ShareLinkController")

LINK_DAYS = (1, 7, 30)

# The token is in the URL: never send it on as a Referer, never cache or index the page.
LINK_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _why_unavailable(landing: LinkLanding, now: datetime) -> str | None:
    """None for a usable link, else `exhausted`, `expired` or `revoked` (what the page tells its holder)."""
    if landing.available:
        return None
    if landing.downloads_left <= 0:
        return "exhausted"
    return "expired" if landing.expires_at <= now else "revoked"


def _page(portal: Portal, landing: LinkLanding, now: datetime, *, status_code: int, errors: list[str]) -> Response[Any]:
    response = portal.render(
        "link.html",
        status_code=status_code,
        no_referrer=True,
        landing=landing,
        unavailable=_why_unavailable(landing, now),
        errors=errors,
    )
    response.headers.update(LINK_HEADERS)
    return response


class ShareLinkController(Controller):
    """Redeeming a share link: no login, the token is the credential."""

    path = "/s"
    tags = ["sharing"]
    opt = {"exclude_from_auth": True}
    dependencies = {"portal": Provide(provide_portal)}

    @route("/{token:str}", http_method=[HttpMethod.GET, HttpMethod.HEAD], cache=False, security=[])
    async def show(
        self,
        portal: NamedDependency[Portal],
        links: NamedDependency[LinkService],
        clock: NamedDependency[Clock],
        token: FromPath[str],
    ) -> Response[Any]:
        """What the link shares (title, size, expiry, downloads left); never counts as a download.

        Browsers get a page with the download button; `Accept: application/json` gets the same facts as JSON.
        """
        landing = await links.describe(token)
        status = 200 if landing.available else 410
        html = wants_html(portal.request)
        if portal.request.method == HttpMethod.HEAD:  # the same status and headers, no body
            headers = {**(portal.headers(no_referrer=True) if html else {}), **LINK_HEADERS}
            media_type = "text/html" if html else "application/json"
            return Response(b"", status_code=status, media_type=media_type, headers=headers)
        if not html:
            return Response(landing, status_code=status, headers=LINK_HEADERS)
        return _page(portal, landing, clock(), status_code=status, errors=[])

    @post("/{token:str}", status_code=200, security=[])
    async def download(
        self,
        portal: NamedDependency[Portal],
        links: NamedDependency[LinkService],
        clock: NamedDependency[Clock],
        token: FromPath[str],
    ) -> Response[Any]:
        """Download the shared document; this is what counts against the link's limit.

        The password goes in a `password` form field (browsers) or the `X-Link-Password` header (scripts).
        """
        request = portal.request
        password = request.headers.get("x-link-password")
        presented_csrf: object = None
        if request.headers.get("content-type", "").lower().startswith(_FORM_TYPES):
            form = await request.form()
            field = form.get("password")
            password = field if isinstance(field, str) and field else password
            presented_csrf = form.get(CSRF_FIELD)
        # a browser that holds our cookie must prove the form came from our page (scripts hold no cookie)
        if request.cookies.get(cookie_name(portal.settings)) and not await portal.csrf_ok(presented_csrf):
            return csrf_refused(portal)
        try:
            content = await links.open(token, password)
        except LinkPasswordRequired:
            if not wants_html(request):
                raise
            message = gettext_("The password is not correct.") if password else gettext_("Enter the password.")
            return _page(portal, await links.describe(token), clock(), status_code=403, errors=[message])
        response: Stream = content_response(content, ranged=False)
        response.headers.update(LINK_HEADERS)
        return response


class LinkSection:
    """The share links on a document's page: the owner's links, and the choices of the form that makes one."""

    def __init__(self, links: LinkService) -> None:
        self._links = links

    async def context(self, caller: Caller, document: DocumentRead) -> dict[str, Any]:
        return {"links": await self._links.list_owned(caller, document.id), "link_days": LINK_DAYS, "created": None}


class LinkPages(PortalPages):
    """Creating and withdrawing a document's share links from its page."""

    path = "/documents/{document_id:uuid}/links"

    @post("/", status_code=200)
    async def create_link(
        self,
        portal: NamedDependency[Portal],
        documents: NamedDependency[DocumentService],
        document_sections: NamedDependency[DocumentSections],
        links: NamedDependency[LinkService],
        clock: NamedDependency[Clock],
        document_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        """Create a share link; its address is shown on the page this once."""
        if isinstance(form := await portal.posted_form("citizen"), Response):
            return form
        errors: list[str] = []
        try:
            days = int(str(form.get("days", "7")))
            downloads = int(str(form.get("downloads", "1")))
            password = str(form.get("password", "")) or None
            if days not in LINK_DAYS or not 1 <= downloads <= 100:
                raise ValueError
            if password is not None and len(password) < 8:
                errors.append(gettext_("The password must be at least 8 characters long."))
        except ValueError:
            errors.append(gettext_("Choose how long the link works and how many downloads it allows."))
        if errors:
            return await document_page(
                portal, documents, document_sections, document_id, errors=errors, status_code=400
            )
        body = NewLink(expires_at=clock() + timedelta(days=days), max_downloads=downloads, password=password)
        created = await links.create(portal.caller, document_id, body)
        return await document_page(portal, documents, document_sections, document_id, created=created)

    @post("/{link_id:uuid}/revoke", status_code=303)
    async def revoke_link(
        self,
        portal: NamedDependency[Portal],
        links: NamedDependency[LinkService],
        document_id: FromPath[uuid.UUID],
        link_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        """Withdraw a share link: its next use answers 410."""
        if isinstance(form := await portal.posted_form("citizen"), Response):
            return form
        await links.revoke(portal.caller, link_id)
        return portal.redirect(f"/documents/{document_id}#links")
