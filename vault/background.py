"""Work the service does on its own: the upload sweep, aggregated token denials and LTA renewal (the audit integrator,
which also keeps periodic checkpoints, is started by the composition root)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import select

from vault.audit.actions import AuditAction, Outcome
from vault.container import Services
from vault.core.errors import TooManyRequests
from vault.documents.models import DocumentVersion
from vault.http.observability import TOKEN_DENIALS

__all__ = ("Chores",)

log = logging.getLogger(__name__)
STALE_UPLOAD_SECONDS = 3600.0
DENIAL_FLUSH_SECONDS = 60.0


class Chores:
    """Periodic background tasks of one running app; each failed run is logged and retried next time."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._denials: Counter[str] = Counter()

    async def start(self) -> None:
        settings = self._services.settings
        self._tasks = [
            asyncio.create_task(self._every(settings.sweep_interval_seconds, self.sweep)),
            asyncio.create_task(self._every(DENIAL_FLUSH_SECONDS, self.flush_token_denials)),
            asyncio.create_task(self._every(settings.lta_renewal_interval_seconds, self.renew_archives)),
        ]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)
        with contextlib.suppress(Exception):  # the last denials of a stopping instance are best effort
            await self.flush_token_denials()

    async def _every(self, interval: float, chore: Callable[[], Awaitable[object]]) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=interval)
                return
            try:
                await chore()
            except Exception:  # background chores must outlive a failing dependency
                log.warning("background task %s failed; retrying at the next interval", chore.__name__, exc_info=True)

    async def sweep(self) -> None:
        """Abort multipart uploads and remove temporary files that a crashed or cut upload left behind; delete
        ended portal sessions and expired rate-limit windows."""
        if not await self._once_per_deployment("sweep", self._services.settings.sweep_interval_seconds):
            return
        await self._services.limiter.forget_expired()
        if ended := await self._services.web.sessions.sweep():
            log.info("swept %d ended portal sessions", ended)
        settings = self._services.settings
        for removed in await self._services.store.sweep_incomplete(older_than=settings.stale_upload_seconds):
            log.info("swept incomplete upload %s", removed)
        await self.reconcile()

    async def reconcile(self) -> list[str]:
        """Remove objects no committed version refers to (a crash between the store and the commit, an erasure
        while the store was down), once they are older than `VAULT_RECONCILE_AFTER_SECONDS`; each is logged."""
        settings, store = self._services.settings, self._services.store
        cutoff = self._services.clock() - timedelta(seconds=settings.reconcile_after_seconds)
        candidates = [info.key async for info in store.list_objects("v1/") if info.last_modified < cutoff]
        removed: list[str] = []
        for start in range(0, len(candidates), 500):
            batch = candidates[start : start + 500]
            async with self._services.db.transaction() as session:
                known = set(
                    await session.scalars(
                        select(DocumentVersion.object_key).where(DocumentVersion.object_key.in_(batch))
                    )
                )
            for key in batch:
                if key not in known:
                    await store.delete(key)
                    log.info("reconciliation removed orphaned object %s", key)
                    removed.append(key)
        return removed

    async def renew_archives(self) -> int:
        """Re-timestamp the B-LTA documents whose protection ends within `VAULT_LTA_RENEWAL_MARGIN_DAYS`, once per
        deployment per `VAULT_LTA_RENEWAL_INTERVAL_SECONDS` (however many instances run); how many were renewed."""
        interval = self._services.settings.lta_renewal_interval_seconds
        if not await self._once_per_deployment("lta-renewal", interval):
            return 0
        return await self._services.archival.run()

    async def _once_per_deployment(self, job: str, interval: float) -> bool:
        """True for the first instance to ask in this interval (a lease counted in the database)."""
        try:
            await self._services.limiter.hit(f"job:{job}", 1, interval)
        except TooManyRequests:
            return False
        return True

    async def count_token_denial(self, reason: str) -> None:
        """Count a presented-but-invalid token; anonymous noise must not cost a log row per request."""
        self._denials[reason] += 1
        TOKEN_DENIALS.labels(reason=reason).inc()

    async def flush_token_denials(self) -> None:
        """One aggregated `auth.token denied` entry for the denials counted since the last flush."""
        if not self._denials:
            return
        counts, self._denials = dict(self._denials), Counter()
        trail = self._services.trail
        details: dict[str, str | int | bool | None] = dict(sorted(counts.items())[:15])
        details["total"] = sum(counts.values())
        await trail.record_now(trail.entry(AuditAction.AUTH_TOKEN, Outcome.DENIED, None, details=details))
