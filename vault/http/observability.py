"""Request ids, JSON logs and Prometheus metrics: what an operator of many instances needs to follow a request."""

from __future__ import annotations

import contextlib
import contextvars
import copy
import json
import logging
import queue
import random
import re
from logging.handlers import QueueHandler, QueueListener
from typing import Any, cast

from litestar import Controller
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import Counter, Gauge

__all__ = (
    "AUDIT_QUEUE",
    "LOG_DROPS",
    "SIGNING_QUEUE",
    "STORE_ERRORS",
    "TOKEN_DENIALS",
    "VERIFY_QUEUE",
    "JsonFormatter",
    "LogHandoff",
    "RequestIdMiddleware",
    "configure_logging",
    "drain_logs",
    "metrics_config",
    "metrics_controller",
    "request_id",
)

_REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

TOKEN_DENIALS = Counter("vault_token_denials_total", "Presented but invalid access tokens", ["reason"])
STORE_ERRORS = Counter("vault_store_errors_total", "Object store failures seen by requests", ["kind"])
AUDIT_QUEUE = Gauge("vault_audit_queue_depth", "Audit entries accepted but not yet sequenced")
VERIFY_QUEUE = Gauge("vault_verification_in_flight", "Verifications running or waiting for a worker")
LOG_DROPS = Counter("vault_log_records_dropped_total", "Log records dropped because the log writer fell behind")
SIGNING_QUEUE = Gauge("vault_signing_in_flight", "Signatures running or waiting for a worker")


def request_id() -> str | None:
    """The id of the request being served, if any."""
    return _REQUEST_ID.get()


class RequestIdMiddleware:
    """Accepts a sane `X-Request-ID` (else makes one), keeps it for the logs, and echoes it on the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        # a correlation id, not a secret: 128 random bits without uuid4's system call
        ident = given if _VALID_ID.match(given) else f"{random.getrandbits(128):032x}"
        token = _REQUEST_ID.set(ident)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableScopeHeaders.from_message(message)["X-Request-ID"] = ident
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _REQUEST_ID.reset(token)


class LogHandoff(QueueHandler):
    """Hands each record to the log writer's thread, so that no log line is formatted or written on the event loop.

    What belongs to the moment of the call is fixed here, in the caller's thread: the request id (a context
    variable of the request being served), the message with its arguments (they may change later) and the
    traceback. The writer thread formats (text or JSON) and writes.

    `drain` (at the end of the app's lifespan) writes what is queued and makes later records be written in the
    caller's thread: uvicorn re-raises SIGTERM once it has stopped, so the process may end without running
    exit handlers, and the last lines ("Application shutdown complete.") must not wait in a queue.

    The queue is bounded (`capacity` records): when the writer falls behind (a blocked stderr, a flood of
    requests), records are dropped and counted (`vault_log_records_dropped_total`); the event loop never waits
    for the log and memory stays bounded.
    """

    def __init__(self, writer: logging.Handler, capacity: int = 10_000) -> None:
        self._records: queue.Queue[logging.LogRecord | None] = queue.Queue(maxsize=capacity)
        super().__init__(self._records)
        self._writer = writer
        self._listener: QueueListener | None = _Writer(self._records, writer)
        self._listener.start()

    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            self._records.put_nowait(record)
        except queue.Full:
            LOG_DROPS.inc()

    def emit(self, record: logging.LogRecord) -> None:
        if self._listener is None:
            self._writer.handle(self.prepare(record))
        else:
            super().emit(record)

    def drain(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()  # returns once the writer thread has written everything queued
            with contextlib.suppress(queue.Empty):
                while True:  # what another thread queued while the writer stopped
                    if (record := self._records.get_nowait()) is not None:
                        self._writer.handle(record)

    def close(self) -> None:
        self.drain()
        super().close()

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        record = copy.copy(record)
        record.request_id = request_id() or "-"
        record.msg, record.args = record.getMessage(), None
        if record.exc_info:
            record.exc_text = record.exc_text or _TRACEBACKS.formatException(record.exc_info)
            record.exc_info = None
        return record


_TRACEBACKS = logging.Formatter()


class _Writer(QueueListener):
    def enqueue_sentinel(self) -> None:
        cast("queue.Queue[logging.LogRecord | None]", self.queue).put(None)  # waits for room: the writer empties it


def drain_logs() -> None:
    """Write every queued log record now, and later ones as they come (see `LogHandoff.drain`)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, LogHandoff):
            handler.drain()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id (and the exception, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(log_format: str) -> logging.Handler:
    """Root logging as text (default) or JSON lines (`VAULT_LOG_FORMAT=json`), with request ids either way.

    Records go through a queue to one writer thread (`LogHandoff`). The app leaves logging alone (`create_app`
    passes no Litestar logging config), so this is what `vault serve` logs through. Returns the root logger's
    new handler (closing it, once removed, writes what is queued and stops the writer).
    """
    writer = logging.StreamHandler()
    if log_format == "json":
        writer.setFormatter(JsonFormatter())
    else:
        writer.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    root = logging.getLogger()
    for previous in [h for h in root.handlers if isinstance(h, LogHandoff)]:
        root.removeHandler(previous)
        previous.close()  # its writer finishes what was queued first
    handoff = LogHandoff(writer)
    root.addHandler(handoff)
    root.setLevel(logging.INFO)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    return handoff


def metrics_config() -> PrometheusConfig:
    """Requests by route (the path template, not the ids in it) and status, with latency histograms."""
    return PrometheusConfig(app_name="citizen_vault", prefix="vault", group_path=True, exclude=["^/metrics"])


def metrics_controller() -> type[Controller]:
    """`GET /metrics` in the Prometheus text format (public: restrict it at the proxy)."""

    class MetricsController(PrometheusController):
        path = "/metrics"
        opt = {"exclude_from_auth": True}
        include_in_schema = False

    return MetricsController
