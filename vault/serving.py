"""How `vault serve` runs uvicorn so that anonymous callers have a bounded cost: a header size limit (431), a
deadline for the whole header, an idle timeout while a body uploads, and a cap on concurrent connections."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

if TYPE_CHECKING:
    from litestar import Litestar

__all__ = ("GuardedProtocol", "ServeLimits", "WorkerProtocol", "uvicorn_options", "worker_app")

_431 = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/problem+json\r\n"
    b"connection: close\r\ncontent-length: %d\r\n\r\n%s"
)
_431_BODY = (
    b'{"type":"https://citizen-vault.dev/problems/header-too-large","title":"Request header fields too large",'
    b'"status":431,"detail":"the request headers are over the limit"}'
)


@dataclass(frozen=True)
class ServeLimits:
    """Limits of one server process (settings `VAULT_MAX_HEADER_BYTES`, `VAULT_HEADER_TIMEOUT_SECONDS`,
    `VAULT_BODY_IDLE_TIMEOUT_SECONDS`, `VAULT_MAX_CONNECTIONS`)."""

    max_header_bytes: int = 64 * 1024
    header_timeout: float = 10.0
    body_idle_timeout: float = 30.0
    max_connections: int = 1000


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol (llhttp, in C) with the limits above (class attribute `limits`, set by
    `uvicorn_options`). Until 2026-12 `vault serve` ran uvicorn's pure-Python h11 protocol; the C parser costs
    about half as much CPU per request (a bare Litestar handler: 6,700 req/s on h11, 12,100 on httptools).

    - Header bytes beyond `max_header_bytes` before the request line and headers are complete: 431, closed
      (counted as bytes arrive; llhttp parses them in C and keeps no buffer of its own).
    - Headers not complete `header_timeout` seconds after the connection (or the previous response): closed.
      One byte every few seconds cannot hold a connection open.
    - While a request body is being received, no byte for `body_idle_timeout` seconds: closed.
    """

    limits: ClassVar[ServeLimits] = ServeLimits()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_bytes = 0
        self._header_timer: asyncio.TimerHandle | None = None
        self._idle_timer: asyncio.TimerHandle | None = None
        self._arm_header_deadline()

    def _arm_header_deadline(self) -> None:
        self._header_bytes = 0
        self._header_timer = self.loop.call_later(self.limits.header_timeout, self._too_slow)

    def _waiting_for_headers(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _too_slow(self) -> None:
        if self._waiting_for_headers() and not self.transport.is_closing():
            self.transport.close()

    def _idle(self) -> None:
        if self.cycle is not None and self.cycle.more_body and not self.transport.is_closing():
            self.transport.close()  # an upload that stopped sending

    def data_received(self, data: bytes) -> None:
        waiting = self._waiting_for_headers()
        super().data_received(data)
        if waiting and self._waiting_for_headers() and not self.transport.is_closing():
            # still no complete request head after these bytes: they all count against the header limit
            self._header_bytes += len(data)
            if self._header_bytes > self.limits.max_header_bytes:
                self.transport.write(_431 % (len(_431_BODY), _431_BODY))
                self.transport.close()
                return
        if not self._waiting_for_headers() and self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        if self.cycle is not None and self.cycle.more_body:
            self._idle_timer = self.loop.call_later(self.limits.body_idle_timeout, self._idle)

    def on_body(self, body: bytes) -> None:
        """Keep a body piece as llhttp gave it when nothing is waiting to be received: uvicorn appends every piece
        to a bytearray and `receive()` copies that out again as bytes, two copies per piece on the event loop
        (an upload arrives as ~256 KiB pieces, 4,000 per GiB). `bytes()` of a bytes object is the object itself,
        so a piece kept as bytes reaches the app with no copy; pieces that arrive before the app asks are still
        appended in order."""
        cycle = self.cycle
        if cycle.body or cycle.response_complete or self.parser.should_upgrade():
            if isinstance(cycle.body, bytes):  # a kept piece, then another before the app asked: append both
                cycle.body = bytearray(cycle.body)
            super().on_body(body)
            return
        cycle.body = body  # type: ignore[assignment]  # uvicorn only takes len() and bytes() of it
        if len(body) > HIGH_WATER_LIMIT:
            self.flow.pause_reading()
        cycle.message_event.set()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._header_timer is None and not self.transport.is_closing():
            self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self._header_timer, self._idle_timer):
            if timer is not None:
                timer.cancel()
        super().connection_lost(exc)


class WorkerProtocol(GuardedProtocol):
    """GuardedProtocol of `vault serve --workers N`: the worker processes are spawned and import it by name (a
    class made at run time cannot be sent to them); `worker_app` gives it the limits of the worker's settings."""


def worker_app() -> Litestar:
    """uvicorn's factory in each `vault serve --workers N` worker process. Workers are spawned: each reads the
    same environment as the parent, once, for its app, its protocol's limits and its own logging."""
    from vault.app import create_app
    from vault.http.observability import configure_logging
    from vault.settings import Settings

    settings = Settings()
    WorkerProtocol.limits = settings.serve_limits
    configure_logging(settings.log_format)
    return create_app(settings)


def uvicorn_options(limits: ServeLimits, *, workers: int = 1) -> dict[str, Any]:
    """Options for `uvicorn.run`/`uvicorn.Config` that apply `limits` (with `workers` > 1, the worker processes
    read the same limits from their settings)."""
    protocol: type[GuardedProtocol] = (
        WorkerProtocol if workers > 1 else type("VaultProtocol", (GuardedProtocol,), {"limits": limits})
    )
    return {
        "http": protocol,
        "limit_concurrency": limits.max_connections,
        "timeout_keep_alive": 5,
        "server_header": False,
    }
