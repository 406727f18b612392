"""The nginx fixture balances round-robin between upstreams, streams bodies through, and names the instance."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.services.nginx import StartBalancer


class NamedHandler(BaseHTTPRequestHandler):
    """Answers with the server's name; a POST answers with its name and the number of body bytes it read."""

    protocol_version = "HTTP/1.1"

    def _answer(self, text: str) -> None:
        body = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._answer(self.server.name)  # type: ignore[attr-defined]

    def do_POST(self) -> None:
        received = 0
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while size := int(self.rfile.readline().strip() or b"0", 16):
                received += len(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
        else:
            received = len(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        self._answer(f"{self.server.name} {received}")  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def upstreams() -> Iterator[dict[int, str]]:
    """Two trivial HTTP servers on loopback, by port: name."""
    servers = []
    for name in ("first", "second"):
        server = ThreadingHTTPServer(("127.0.0.1", 0), NamedHandler)
        server.name = name  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    yield {server.server_address[1]: server.name for server in servers}  # type: ignore[attr-defined]
    for server in servers:
        server.shutdown()
        server.server_close()


def test_requests_alternate_between_two_upstreams(nginx_balancer: StartBalancer, upstreams: dict[int, str]) -> None:
    balancer = nginx_balancer(list(upstreams))
    with httpx.Client(base_url=balancer.url, timeout=10) as http:
        answers = [http.get("/anything") for _ in range(10)]
    names = [answer.text for answer in answers]
    assert names[0::2] == [names[0]] * 5
    assert names[1::2] == [names[1]] * 5
    assert set(names) == {"first", "second"}
    for answer in answers:  # X-Upstream names the instance that answered
        port = int(answer.headers["X-Upstream"].rsplit(":", 1)[1])
        assert upstreams[port] == answer.text
    assert len(balancer.access_log().splitlines()) == 10


def test_bodies_are_streamed_through_whole(nginx_balancer: StartBalancer, upstreams: dict[int, str]) -> None:
    balancer = nginx_balancer(list(upstreams))
    piece = b"x" * 65536

    def chunks() -> Iterator[bytes]:
        for _ in range(64):  # 4 MiB, chunked: nginx passes it on as it arrives (no temp file, no size limit)
            yield piece

    with httpx.Client(base_url=balancer.url, timeout=30) as http:
        first = http.post("/upload", content=chunks())
        second = http.post("/upload", content=b"y" * 1_000_000)
    assert first.status_code == second.status_code == 200
    (first_name, first_size), (second_name, second_size) = first.text.split(), second.text.split()
    assert (first_size, second_size) == ("4194304", "1000000")
    assert {first_name, second_name} == {"first", "second"}  # one after the other: one each
    assert not any((balancer.directory / "client_body").iterdir())


def test_a_balancer_needs_an_upstream(nginx_balancer: StartBalancer) -> None:
    with pytest.raises(ValueError, match="upstream"):
        nginx_balancer([])
