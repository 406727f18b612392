"""Liveness and readiness."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency

from vault.http.security import PUBLIC

__all__ = ("Health", "Readiness", "ReadinessProbe", "SystemController")

log = logging.getLogger(__name__)
Check = Callable[[], Awaitable[object]]


class Health(msgspec.Struct, frozen=True):
    status: str


class Readiness(msgspec.Struct, frozen=True):
    status: str
    checks: dict[str, str]


class ReadinessProbe:
    """Named checks that each raise when their backing service cannot do its job."""

    def __init__(self, checks: Sequence[tuple[str, Check]]) -> None:
        self._checks = tuple(checks)

    async def run(self) -> dict[str, str]:
        results: dict[str, str] = {}
        for name, check in self._checks:
            try:
                await check()
                results[name] = "ok"
            except Exception:  # any failure means "not ready"; the reason goes to the log, not to the caller
                log.warning("readiness check %s failed", name, exc_info=True)
                results[name] = "unavailable"
        return results


class SystemController(Controller):
    path = "/"
    tags = ["system"]

    @get("/health", opt=PUBLIC, cache=False)
    async def health(self) -> Health:
        """Liveness: the process answers."""
        return Health(status="ok")

    @get("/ready", opt=PUBLIC, cache=False)
    async def ready(self, readiness: NamedDependency[ReadinessProbe]) -> Response[Readiness]:
        """Readiness: the database, the object store and the key provider answer (503 otherwise)."""
        checks = await readiness.run()
        ok = all(v == "ok" for v in checks.values())
        return Response(Readiness(status="ok" if ok else "unavailable", checks=checks), status_code=200 if ok else 503)
