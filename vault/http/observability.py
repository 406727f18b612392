"""Request ids, JSON logs and Prometheus metrics: what an operator of many instances needs to follow a request."""

from __future__ import annotations

import contextvars
import json
import logging
import random
import re
from typing import Any

from litestar import Controller
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import Counter, Gauge

__all__ = (
    "AUDIT_QUEUE",
    "SIGNING_QUEUE",
    "STORE_ERRORS",
    "TOKEN_DENIALS",
    "VERIFY_QUEUE",
    "JsonFormatter",
    "RequestIdMiddleware",
    "configure_logging",
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
        ident = (
            given if _VALID_ID.match(given) else f"{random.getrandbits(128):032x}"
        )  # a correlation id, not a secret: no uuid4 system call
        token = _REQUEST_ID.set(ident)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableScopeHeaders.from_message(message)["X-Request-ID"] = ident
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _REQUEST_ID.reset(token)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id() or "-"
        return True


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
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(log_format: str) -> None:
    """Root logging as text (default) or JSON lines (`VAULT_LOG_FORMAT=json`), with request ids either way."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if not getattr(h, "_vault", False)]
    handler._vault = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True


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
