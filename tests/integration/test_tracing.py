"""OpenTelemetry traces: with `VAULT_OTEL_ENDPOINT` set, each request is a server span exported over OTLP/HTTP (to a
small receiver here that decodes the protobuf export requests, as a collector does), named by its route, never by
its path; without it, no OpenTelemetry SDK is even imported."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.support.api import DOCS, later
from tests.support.vault_app import bearer, make_settings, running_server
from vault.app import services_of
from vault.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN = "b7ad6b7169203331"


class OtlpReceiver:
    """POST /v1/traces on a loopback port; keeps every export request's raw body."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 200 if self.path == "/v1/traces" else 404
                if status == 200:
                    bodies.append(body)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"

    def spans(self) -> list[tuple[dict[str, Any], Span]]:
        """Every exported span with its resource's attributes."""
        found = []
        for body in self.bodies:
            request = ExportTraceServiceRequest.FromString(body)
            for resource_spans in request.resource_spans:
                resource = attributes(resource_spans.resource.attributes)
                found += [(resource, span) for scope in resource_spans.scope_spans for span in scope.spans]
        return found


@contextlib.contextmanager
def otlp_receiver() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
        thread.join()


def attributes(values: Any) -> dict[str, Any]:
    def plain(value: AnyValue) -> Any:
        return getattr(value, value.WhichOneof("value") or "string_value")

    return {kv.key: plain(kv.value) for kv in values}


def test_requests_are_exported_as_spans_named_by_route_with_store_and_database_children(
    tmp_path: Path, database_url: str
) -> None:
    with otlp_receiver() as receiver:
        settings = make_settings(
            tmp_path, database_url, otel_endpoint=receiver.url, otel_service_name="vault-under-test"
        )
        with running_server(settings) as live, live.client() as http:
            alice = bearer(services_of(live.app).dev_idp.issue_access_token("alice"))  # type: ignore[union-attr]
            traceparent = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"
            created = http.post(
                DOCS,
                content=b"traced bytes",
                headers={
                    **alice,
                    "Content-Type": "text/plain",
                    "X-Document-Title": "Traced",
                    "X-Request-ID": "otel-upload-1",
                    "traceparent": traceparent,
                },
            )
            assert created.status_code == 201, created.text
            doc = created.json()["id"]
            # the owner's read is answered by the owner read lane, in front of the router: named all the same
            read = http.get(f"{DOCS}/{doc}", headers={**alice, "X-Request-ID": "otel-read-1"})
            assert read.status_code == 200, read.text
            link = http.post(f"{DOCS}/{doc}/links", json={"expires_at": later(days=1)}, headers=alice)
            assert link.status_code == 201, link.text
            token = link.json()["token"]
            assert http.get(f"/s/{token}").status_code == 200
            downloaded = http.post(f"/s/{token}", headers={"X-Request-ID": "otel-link-1"})
            assert downloaded.content == b"traced bytes"
            assert http.get(f"/no/such/page/{token}").status_code == 404
        # leaving the server shut the app down, which flushed the batch processor

    spans = receiver.spans()
    assert spans, "no span reached the receiver"
    assert {resource["service.name"] for resource, _ in spans} == {"vault-under-test"}
    servers = [span for _, span in spans if span.kind == Span.SPAN_KIND_SERVER]
    by_id = {span.span_id: span for _, span in spans}

    upload = next(span for span in servers if attributes(span.attributes)["vault.request_id"] == "otel-upload-1")
    assert upload.name == "POST /api/v1/documents"
    assert attributes(upload.attributes).items() >= {
        ("http.request.method", "POST"),
        ("http.route", "/api/v1/documents"),
        ("http.response.status_code", 201),
    }
    assert upload.trace_id.hex() == CALLER_TRACE  # the caller's trace continues
    assert upload.parent_span_id.hex() == CALLER_SPAN
    under_upload = {span.name for span in by_id.values() if _descends_from(span, upload, by_id)}
    assert {"store.put", "db.transaction"} <= under_upload

    read = next(span for span in servers if attributes(span.attributes)["vault.request_id"] == "otel-read-1")
    assert read.name == "GET /api/v1/documents/{document_id}"
    assert attributes(read.attributes)["http.route"] == "/api/v1/documents/{document_id}"
    assert doc not in str(attributes(read.attributes))

    names = {span.name for span in servers}
    assert {"GET /s/{token}", "POST /s/{token}", "GET"} <= names  # an unrouted path is named by its method
    download = next(span for span in servers if attributes(span.attributes)["vault.request_id"] == "otel-link-1")
    assert download.name == "POST /s/{token}"
    assert attributes(download.attributes)["http.response.status_code"] == 200
    assert download.trace_id.hex() != CALLER_TRACE  # no traceparent: a trace of its own
    assert "store.get" in {span.name for span in by_id.values() if _descends_from(span, download, by_id)}
    # the share-link token is a secret: not in a name, an attribute, or anywhere in what was exported
    assert all(token.encode() not in body for body in receiver.bodies)


def test_without_an_endpoint_no_opentelemetry_sdk_is_imported(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from tests.support.vault_app import make_settings, vault_client\n"
        "with vault_client(make_settings(Path(sys.argv[1]))) as client:\n"  # demo users sign in: requests served
        "    assert client.get('/health').status_code == 200\n"
        "prefixes = ('opentelemetry.sdk', 'opentelemetry.exporter', 'opentelemetry.trace', 'google.protobuf',"
        " 'vault.http.tracing')\n"
        "print(sorted(name for name in sys.modules if name.startswith(prefixes)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("endpoint", ["collector:4318/v1/traces", "grpc://collector:4317", "http://"])
def test_an_endpoint_that_is_not_an_http_url_is_refused(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAULT_OTEL_ENDPOINT", endpoint)
    with pytest.raises(ValueError, match="otel_endpoint"):
        Settings(_env_file=None)  # type: ignore[call-arg]
    monkeypatch.setenv("VAULT_OTEL_ENDPOINT", "https://collector.example:4318/v1/traces")
    assert Settings(_env_file=None).otel_endpoint.endswith("/v1/traces")  # type: ignore[call-arg]


def _descends_from(span: Span, ancestor: Span, by_id: dict[bytes, Span]) -> bool:
    parent = by_id.get(span.parent_span_id)
    while parent is not None:
        if parent.span_id == ancestor.span_id:
            return True
        parent = by_id.get(parent.parent_span_id)
    return False
