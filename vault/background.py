"""Work the service does on its own: the upload sweep and aggregated token denials (the audit integrator,
which also keeps periodic checkpoints, is started by the composition root)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable

from vault.audit.actions import AuditAction, Outcome
from vault.container import Services
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
        ]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)
        with contextlib.suppress(Exception):  # the last denials of a stopping instance are best effort
            await self.flush_token_denials()

    async def _every(self, interval: float, chore: Callable[[], Awaitable[None]]) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=interval)
                return
            try:
                await chore()
            except Exception:  # background chores must outlive a failing dependency
                log.warning("background task %s failed; retrying at the next interval", chore.__name__, exc_info=True)

    async def sweep(self) -> None:
        """Abort multipart uploads and remove temporary files that a crashed or cut upload left behind."""
        removed = await self._services.store.sweep_incomplete(older_than=STALE_UPLOAD_SECONDS)
        if removed:
            log.info("swept %d incomplete uploads", removed)

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
