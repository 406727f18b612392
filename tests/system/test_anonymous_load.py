"""Anonymous callers have a bounded cost (issue "Hardening", attack 2): a huge header is refused while the
server keeps answering, slow headers and stalled uploads are cut. Loopback only, bounded in count and time."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.vault_app import LiveServer, make_settings, running_server

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = make_settings(
        Path(tmp_path_factory.mktemp("load")), header_timeout_seconds=2.0, body_idle_timeout_seconds=2.0
    )
    with running_server(settings) as live:
        yield live


def _address(live: LiveServer) -> tuple[str, int]:
    host, port = live.url.removeprefix("http://").split(":")
    return host, int(port)


def _health_times(live: LiveServer, stop: threading.Event, times: list[float]) -> None:
    with httpx.Client(base_url=live.url, timeout=10) as client:
        while not stop.is_set():
            started = time.monotonic()
            assert client.get("/health").status_code == 200
            times.append(time.monotonic() - started)
            time.sleep(0.05)


def test_a_16_mib_header_is_refused_with_431_and_health_stays_fast(server: LiveServer) -> None:
    stop, times = threading.Event(), []
    prober = threading.Thread(target=_health_times, args=(server, stop, times))
    prober.start()
    while len(times) < 3:  # the prober is answered before the attack starts
        time.sleep(0.05)
    before = len(times)
    try:
        with socket.create_connection(_address(server), timeout=10) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Padding: ")
            sent = 0
            try:
                while sent < 16 * MiB:
                    sock.sendall(b"a" * 65536)
                    sent += 65536
            except OSError:  # the server closed the connection once the limit was passed
                pass
            answer = sock.recv(4096)
        time.sleep(0.5)  # and keeps being answered after it
    finally:
        stop.set()
        prober.join()
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert sent < 16 * MiB  # refused long before the whole header arrived
    assert len(times) > before
    assert max(times) < 1.0  # the bound: /health under 1 s meanwhile


def test_a_header_sent_a_byte_at_a_time_is_cut_at_the_deadline(server: LiveServer) -> None:
    with socket.create_connection(_address(server), timeout=10) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\n")
        started = time.monotonic()
        closed = False
        while time.monotonic() - started < 8:
            try:
                sock.sendall(b"X")
                time.sleep(0.25)
                if sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                    closed = True
                    break
            except BlockingIOError:
                continue
            except OSError:
                closed = True
                break
    assert closed  # the 2-second header deadline of this server, not the client, ended it


def test_an_upload_that_stops_sending_is_closed(server: LiveServer) -> None:
    with socket.create_connection(_address(server), timeout=10) as sock:
        sock.sendall(
            b"POST /api/v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/pdf\r\n"
            b"Content-Length: 1000000\r\n\r\n%PDF-1.7\n"
        )
        sock.settimeout(8)
        started = time.monotonic()
        data = sock.recv(4096)  # nothing more is sent: the server gives up after its idle timeout
    assert data == b"" or b" 4" in data.split(b"\r\n")[0] or b" 5" in data.split(b"\r\n")[0]
    assert time.monotonic() - started < 8
