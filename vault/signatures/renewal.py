"""LTA renewal: before the newest document timestamp of a B-LTA document stops protecting it (its TSA
certificate expires, less a margin), add a new document timestamp over everything; each renewal is a new version
and an audit event. Run by the background chores, once per deployment per interval (a lease in the database)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import signing
from vault.core.clock import Clock
from vault.documents.archival import RENEWAL_ORIGIN, ArchivalStore, SignedVersion

__all__ = ("ArchivalRenewal",)

log = logging.getLogger(__name__)


class ArchivalRenewal:
    """Re-timestamps the B-LTA documents whose protection ends within `margin`.

    A document renewed less than `margin` ago is left alone: renewing again would only repeat a timestamp from
    the same TSA certificate (its operator must roll the TSA certificate over; the job says so in its log).
    """

    def __init__(
        self,
        store: ArchivalStore,
        engine: signing.SigningPool | signing.PdfSigningService,
        *,
        margin: timedelta,
        clock: Clock,
        max_bytes: int,
    ) -> None:
        self._store = store
        self._engine = engine
        self._margin = margin
        self._clock = clock
        self._max_bytes = max_bytes

    async def run(self) -> int:
        """Renew every document that is due; returns how many were renewed (failures are logged, not raised)."""
        renewed = 0
        for version in await self._store.signed_versions(self._max_bytes):
            try:
                renewed += await self._renew(version)
            except Exception:  # one bad document must not stop the others
                log.warning("LTA renewal of document %s failed", version.document_id, exc_info=True)
        return renewed

    async def _renew(self, version: SignedVersion) -> int:
        now = self._clock()
        if version.origin == RENEWAL_ORIGIN and now - version.created_at < self._margin:
            return 0
        pdf = await self._store.read(version)
        state = await signing.archival_state(pdf)
        if state.document_timestamps == 0 or not state.renewal_due(self._margin, now=now):
            return 0
        if version.origin == RENEWAL_ORIGIN:
            log.warning(
                "document %s is due for LTA renewal again: is the TSA certificate rolled over?", version.document_id
            )
        pdf = await self._engine.renew_archival_timestamp(pdf)
        after = await signing.archival_state(pdf)
        details: dict[str, str | int | bool | None] = {
            "previous_protected_until": _iso(state.protected_until),
            "protected_until": _iso(after.protected_until),
            "document_timestamps": after.document_timestamps,
            "authority": after.authority,
        }
        number = await self._store.add_renewal(version, pdf, details)
        log.info("LTA renewal of document %s: version %d", version.document_id, number)
        return 1


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()
