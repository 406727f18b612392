"""OpenTelemetry traces, when `VAULT_OTEL_ENDPOINT` is set: a server span per request, exported over OTLP/HTTP.

Imported only then (`vault.app`), so a vault without tracing loads no OpenTelemetry SDK. What a span holds is an
allow-list: the method, the route template (`GET /s/{token}`: never the path, whose share-link tokens are
secrets, nor the query, which carries the portal's authorization codes), the status code and the request id.
No header, address or exception message is recorded (an exception is named by its type). A caller's W3C
`traceparent` continues its trace. Litestar's OpenTelemetry plugin is not used: its ASGI instrumentation records
the raw path and full URL, which would have to be scrubbed after the fact (a deny-list).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING

from litestar.enums import ScopeType
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE
from opentelemetry.semconv.attributes.http_attributes import (
    HTTP_REQUEST_METHOD,
    HTTP_RESPONSE_STATUS_CODE,
    HTTP_ROUTE,
)
from opentelemetry.semconv.attributes.service_attributes import SERVICE_NAME
from opentelemetry.trace import Span, SpanKind, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from vault.core.tracing import span_opener
from vault.http.observability import request_id

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ("REQUEST_ID", "Tracing", "TracingMiddleware", "traced")

REQUEST_ID = "vault.request_id"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})
_W3C = TraceContextTextMapPropagator()


class Tracing:
    """The tracer provider: started with the app, flushed and shut down with it (spans still queued are sent)."""

    def __init__(self, endpoint: str, service_name: str) -> None:
        self.endpoint = endpoint
        self.service_name = service_name
        self.provider: TracerProvider | None = None
        self.tracer: Tracer | None = None

    def start(self) -> None:
        # the exporter also honours OTEL_EXPORTER_OTLP_TRACES_HEADERS / _TIMEOUT / _CERTIFICATE / _COMPRESSION
        provider = TracerProvider(resource=Resource.create({SERVICE_NAME: self.service_name}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=self.endpoint)))
        self.provider, self.tracer = provider, provider.get_tracer("citizen-vault")

    async def stop(self) -> None:
        provider, self.provider, self.tracer = self.provider, None, None
        if provider is not None:
            await asyncio.to_thread(provider.shutdown)  # blocks while the last batch is exported


class TracingMiddleware:
    """One server span per HTTP request, named `METHOD /route/{template}` once routing has found the route."""

    def __init__(self, app: ASGIApp, tracing: Tracing) -> None:
        self.app = app
        self.tracing = tracing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracer = self.tracing.tracer
        if scope["type"] != ScopeType.HTTP or tracer is None:
            await self.app(scope, receive, send)
            return
        method = scope["method"] if scope["method"] in _METHODS else "_OTHER"
        traceparent = dict(scope["headers"]).get(b"traceparent", b"").decode("latin-1")
        parent = _W3C.extract({"traceparent": traceparent})  # malformed or absent: a new trace
        attributes = {HTTP_REQUEST_METHOD: method, REQUEST_ID: request_id() or "-"}
        with tracer.start_as_current_span(
            method, parent, SpanKind.SERVER, attributes, record_exception=False, set_status_on_exception=False
        ) as span:

            async def send_traced(message: Message) -> None:
                if message["type"] == "http.response.start":
                    span.set_attribute(HTTP_RESPONSE_STATUS_CODE, message["status"])
                    if message["status"] >= 500:
                        span.set_status(StatusCode.ERROR)
                await send(message)

            token = span_opener.set(functools.partial(_child_span, tracer))
            try:
                await self.app(scope, receive, send_traced)
            except BaseException as exc:
                _failed(span, exc)
                raise
            finally:
                span_opener.reset(token)
                if template := scope.get("path_template"):  # set by Litestar's router (absent: no route, e.g. 404)
                    span.update_name(f"{method} {template}")
                    span.set_attribute(HTTP_ROUTE, template)


@contextlib.contextmanager
def _child_span(tracer: Tracer, name: str) -> Iterator[Span]:
    with tracer.start_as_current_span(name, record_exception=False, set_status_on_exception=False) as span:
        try:
            yield span
        except BaseException as exc:
            _failed(span, exc)
            raise


def _failed(span: Span, exc: BaseException) -> None:
    """Mark a span failed by the exception's type only: messages may carry SQL parameters or user input."""
    span.set_status(StatusCode.ERROR)
    span.set_attribute(ERROR_TYPE, type(exc).__qualname__)


def traced(app: Litestar, handler: ASGIApp, endpoint: str, service_name: str) -> ASGIApp:
    """`handler` inside a server span per request; the exporter starts and stops with `app`'s lifespan."""
    tracing = Tracing(endpoint, service_name)
    app.on_startup.append(tracing.start)
    app.on_shutdown.append(tracing.stop)
    return TracingMiddleware(handler, tracing)
