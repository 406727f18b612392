"""`/account` in the browser: download every document as one archive, or erase the account for good."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.response import Stream

from vault.core.clock import Clock
from vault.core.errors import Conflict, NotFound
from vault.documents.archive import stream_archive
from vault.documents.service import DocumentService
from vault.erasure.service import AccountErasure
from vault.web.i18n import gettext_
from vault.web.portal import Portal, PortalPages

__all__ = ("AccountPages", "confirmation_phrase")


def confirmation_phrase() -> str:
    """What the citizen types to confirm the erasure, in the page's language."""
    return gettext_("erase my account")


def _confirmed(typed: object) -> bool:
    if not isinstance(typed, str):
        return False
    said = " ".join(typed.split()).casefold()
    return said in {confirmation_phrase().casefold(), "erase my account"}


class AccountPages(PortalPages):
    """The signed-in citizen's account."""

    path = "/account"

    @get("/", cache=False)
    async def account(self, portal: NamedDependency[Portal]) -> Response[Any]:
        """The archive download and the erasure form."""
        if (refused := portal.refuse("citizen")) is not None:
            return refused
        return portal.render("account.html", errors=[], phrase=confirmation_phrase())

    @get("/archive", cache=False)
    async def archive(
        self,
        portal: NamedDependency[Portal],
        documents: NamedDependency[DocumentService],
        clock: NamedDependency[Clock],
    ) -> Response[Any]:
        """Every document's current version in one zip, streamed (never assembled in memory or on disk)."""
        if (refused := portal.refuse("citizen")) is not None:
            return refused
        chunks = stream_archive(documents, portal.caller)
        name = f"citizen-vault-{clock():%Y-%m-%d}.zip"
        return Stream(
            content=chunks,
            media_type="application/zip",
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
            background=BackgroundTask(chunks.aclose),
        )

    @post("/erase", status_code=200)
    async def erase(self, portal: NamedDependency[Portal], erasure: NamedDependency[AccountErasure]) -> Response[Any]:
        """Erase the account once the citizen typed the confirmation; then the session ends."""
        if isinstance(form := await portal.posted_form("citizen"), Response):
            return form
        phrase = confirmation_phrase()
        if not _confirmed(form.get("confirm")):
            message = gettext_("Type “%(phrase)s” to confirm that you want to erase your account.") % {"phrase": phrase}
            return portal.render("account.html", status_code=400, errors=[message], phrase=phrase)
        try:
            count = await erasure.erase(portal.caller)
        except NotFound:
            count = 0  # nothing was ever stored: there is nothing to erase, the session still ends
        except Conflict:
            message = gettext_("Your account is under legal hold, so it cannot be erased now. Contact the service.")
            return portal.render("account.html", status_code=409, errors=[message], phrase=phrase)
        await portal.web.sessions.end(portal.request.cookies.get(portal.session_cookie("").key))
        portal.user = None
        portal.cookies.append(portal.session_cookie("", max_age=0))
        return portal.render("account_erased.html", count=count)
