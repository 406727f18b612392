"""Building the service for tests: settings per database back end, schema, clients, tokens, a real uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from litestar import Litestar
from litestar.testing import TestClient

import auth
from tests.services._proc import free_port
from vault.app import create_app, services_of
from vault.migrations import upgrade
from vault.serving import uvicorn_options
from vault.settings import Settings

__all__ = (
    "LiveServer",
    "MovableClock",
    "bearer",
    "clock_of",
    "make_settings",
    "migrate",
    "run_in_app",
    "running_server",
    "settle_audit",
    "sign_in_demo_users",
    "vault_client",
)

T = TypeVar("T")


def make_settings(tmp_path: Path, database_url: str | None = None, **overrides: Any) -> Settings:
    """Settings with everything under `tmp_path`, the given database, and no `.env` file."""
    values: dict[str, Any] = {
        "data_dir": tmp_path / "var",
        "database_url": database_url or f"sqlite+aiosqlite:///{tmp_path / 'vault.core.base'}",
        "checkpoint_interval_seconds": 3600.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def migrate(settings: Settings) -> None:
    settings.prepare_data_dir()
    upgrade(settings.resolved_database_url)


class MovableClock:
    """The app's injected clock in tests: the wall clock plus an offset that a test moves (no sleeping)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def move(self, **delta: float) -> None:
        """Set the offset from now, e.g. `move(days=8)`."""
        self.offset = timedelta(**delta)


def clock_of(app: Litestar) -> MovableClock:
    """The movable clock of an app built by `vault_client`."""
    clock = services_of(app).clock
    assert isinstance(clock, MovableClock)
    return clock


def sign_in_demo_users(client: httpx.Client | TestClient[Litestar], provider: auth.DevIdentityProvider) -> None:
    """Every demo user makes one request, as a person who signed in would: the directory knows them after."""
    for name in auth.DEMO_USERS:
        response = client.get("/api/v1/me", headers=bearer(provider.issue_access_token(name)))
        assert response.status_code == 200, response.text


@contextlib.contextmanager
def vault_client(settings: Settings, *, signed_in: bool = True) -> Iterator[TestClient[Litestar]]:
    """A migrated database and a started app (with a `MovableClock`) behind Litestar's test client; with
    `signed_in`, the demo users of the development provider have each signed in once.

    The test client has no listening socket, so the development PKI's OCSP and CRLs (served by the app at its
    public URL) cannot be fetched: checking a seal online before sealing is off unless the test sets
    `signing_fetch_revocation` itself (`running_server` keeps it on; the TSA is answered in-process anyway)."""
    if "signing_fetch_revocation" not in settings.model_fields_set:
        settings = settings.model_copy(update={"signing_fetch_revocation": False})
    migrate(settings)
    app = create_app(settings, clock=MovableClock())
    with TestClient(app, raise_server_exceptions=False, timeout=60) as client:
        dev = services_of(app).dev_idp
        if signed_in and dev is not None:
            sign_in_demo_users(client, dev)
        yield client


def run_in_app(client: TestClient[Litestar], fn: Callable[[], Awaitable[T]]) -> T:
    """Run `fn` on the test client's event loop (where the app's engine and clients live)."""
    with client.portal() as portal:
        return portal.call(fn)


def settle_audit(client: TestClient[Litestar]) -> None:
    """Wait until the audit entries queued so far are sequenced (the integrator does it within a second)."""
    run_in_app(client, services_of(client.app).events.integrator.settle)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class LiveServer:
    """A real uvicorn serving the app on a loopback port, in a thread of this process."""

    url: str
    app: Litestar
    server: uvicorn.Server
    loop: asyncio.AbstractEventLoop

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120, **kwargs)

    def call(self, fn: Callable[[], Awaitable[T]], timeout: float = 120) -> T:
        """Run `fn` on the server's event loop (where the app's engine and clients live) and wait for it."""
        return asyncio.run_coroutine_threadsafe(_awaited(fn), self.loop).result(timeout)


async def _awaited(fn: Callable[[], Awaitable[T]]) -> T:
    return await fn()


@contextlib.contextmanager
def uvicorn_in_thread(config: uvicorn.Config) -> Iterator[tuple[uvicorn.Server, asyncio.AbstractEventLoop]]:
    """Serve `config` in a daemon thread of this process; yield once uvicorn has started (with its event loop);
    stop it on exit."""
    server = uvicorn.Server(config)
    loops: list[asyncio.AbstractEventLoop] = []

    async def serve() -> None:
        loops.append(asyncio.get_running_loop())
        await server.serve()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield server, loops[0]
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextlib.contextmanager
def running_server(settings: Settings, port: int | None = None) -> Iterator[LiveServer]:
    """Migrate, start uvicorn on `port` (default: a free one), wait until /health answers, stop on exit."""
    migrate(settings)
    port = port or free_port()
    if not settings.public_url:
        settings = settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    app = create_app(settings)
    options = uvicorn_options(settings.serve_limits)  # the limits `vault serve` runs with
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", **options)
    with uvicorn_in_thread(config) as (server, loop):
        live = LiveServer(f"http://127.0.0.1:{port}", app, server, loop)
        dev = services_of(app).dev_idp
        if dev is not None:
            with live.client() as client:
                sign_in_demo_users(client, dev)
        yield live
