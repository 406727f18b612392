"""The citizen's access log in words: "Tax office — an officer — viewed 'Diploma' — 30 Nov 2026, 10:02"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from litestar import Response, get
from litestar.di import NamedDependency

from vault.access_log.schemas import AccessLogEntry
from vault.access_log.service import AccessLogService
from vault.core.principal import Caller
from vault.documents.service import DocumentService
from vault.web.i18n import N_, gettext_
from vault.web.portal import Portal, PortalPages

__all__ = ("AccessLogPage", "describe")

_ACTIONS = {
    "document.read": N_("looked at"),
    "document.download": N_("downloaded"),
    "document.upload": N_("uploaded"),
    "document.version": N_("added a version of"),
    "document.update": N_("renamed"),
    "document.sign": N_("signed"),
    "document.verify": N_("checked the signatures of"),
    "document.issue": N_("issued"),
    "document.erase": N_("erased"),
    "grant.create": N_("shared"),
    "grant.revoke": N_("stopped sharing"),
    "link.create": N_("created a share link to"),
    "link.revoke": N_("withdrew a share link to"),
    "link.use": N_("downloaded through a share link"),
    "request.create": N_("asked for documents"),
    "request.approve": N_("approved a request"),
    "request.deny": N_("refused a request"),
}


@dataclass(frozen=True)
class Line:
    """One access, in words."""

    who: str
    what: str
    document: str | None
    when: datetime
    refused: bool
    purpose: str | None


def _who(entry: AccessLogEntry, caller: Caller) -> str:
    actor = entry.actor
    if actor.subject is not None and actor.subject == caller.subject:
        return gettext_("You")
    if actor.subject is None and actor.role is None:
        return gettext_("Someone with a share link")
    if actor.agency:
        return gettext_("%(agency)s, an officer") % {"agency": actor.agency}
    if actor.role == "auditor":
        return gettext_("An auditor")
    if actor.role == "admin":
        return gettext_("An administrator")
    return gettext_("Another person")


def describe(entry: AccessLogEntry, caller: Caller, titles: dict[str, str]) -> Line:
    """An access log entry as a sentence's parts."""
    action = _ACTIONS.get(entry.action)
    return Line(
        who=_who(entry, caller),
        what=gettext_(action) if action else entry.action,
        document=titles.get(entry.document_id or "") if entry.document_id else None,
        when=entry.time,
        refused=entry.outcome != "success",
        purpose=entry.purpose if entry.action != "link.use" else None,
    )


class AccessLogPage(PortalPages):
    """`/access-log`: every access to the citizen's documents."""

    path = "/access-log"

    @get("/", cache=False)
    async def access_log(
        self,
        portal: NamedDependency[Portal],
        access_log: NamedDependency[AccessLogService],
        documents: NamedDependency[DocumentService],
    ) -> Response[Any]:
        """The newest accesses first, fifty at a time."""
        if (refused := portal.refuse("citizen")) is not None:
            return refused
        raw = portal.request.query_params.get("cursor")
        cursor = int(raw) if raw and raw.isdigit() else None
        page = await access_log.for_owner(portal.caller, cursor, 50)
        owned = await documents.list_owned(portal.caller, None, 100)
        titles = {str(doc.id): doc.title for doc in owned.items}
        # the citizen's own views of their own documents are not news to them: everything else is listed
        me = portal.caller.subject
        shown = [e for e in page.items if not (e.action == "document.read" and e.actor.subject == me)]
        lines = [describe(entry, portal.caller, titles) for entry in shown]
        return portal.render("access_log.html", lines=lines, next_cursor=page.next_cursor)
