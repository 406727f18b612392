"""The portal's front page: what the service is and a sign-in for visitors; a start page once signed in."""

from __future__ import annotations

from litestar import get
from litestar.di import NamedDependency
from litestar.response import Template

from vault.web.i18n import gettext_
from vault.web.portal import Portal, PortalPages

__all__ = ("HomeController", "start_links")


def start_links(roles: frozenset[str]) -> list[tuple[str, str]]:
    """(path, label) of the start page's links for these roles, in the current language."""
    links: list[tuple[str, str]] = []
    if "citizen" in roles:
        links += [
            ("/documents", gettext_("Your documents")),
            ("/documents/new", gettext_("Upload a document")),
            ("/access-log", gettext_("Who looked at your documents")),
            ("/requests", gettext_("Requests for your documents")),
            ("/account", gettext_("Your account: download everything, or erase it")),
        ]
    if "agency" in roles:
        links += [
            ("/requests/new", gettext_("Ask a citizen for documents")),
            ("/requests", gettext_("Your requests and their answers")),
            ("/agency/documents", gettext_("Documents shared with your agency")),
            ("/agency/issue", gettext_("Issue a signed document")),
        ]
    if "auditor" in roles:
        links += [
            ("/auditor", gettext_("The audit log")),
            ("/auditor/checkpoints", gettext_("Checkpoints, proofs and export")),
        ]
    return links


class HomeController(PortalPages):
    """`/`."""

    path = "/"

    @get("/", cache=False)
    async def home(self, portal: NamedDependency[Portal]) -> Template:
        """Signed out: what the service is and a sign-in; signed in: a start page for the user's roles."""
        signed_out = portal.user is None and portal.request.query_params.get("signed_out") == "1"
        role_names = {
            "citizen": gettext_("Citizen"),
            "agency": gettext_("Agency officer"),
            "auditor": gettext_("Auditor"),
            "admin": gettext_("Administrator"),
        }
        return portal.render(
            "home.html",
            signed_out=signed_out,
            role_names=role_names,
            start_links=start_links(portal.user.roles if portal.user else frozenset()),
        )
