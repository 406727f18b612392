"""`vault serve --workers N`: the worker processes start (they import the guarded HTTP protocol by name) and
apply the limits of their settings. Loopback only; the server is stopped by process group."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.support.serve import start_vault_serve


def test_two_workers_serve_and_refuse_an_oversized_header_with_431(tmp_path: Path) -> None:
    served = start_vault_serve(tmp_path, "vault-workers", "--workers", "2", max_header_bytes="8192")
    url, port, service = served.url, served.port, served.service
    try:
        with httpx.Client(base_url=url, timeout=10) as client:
            assert all(client.get("/health").status_code == 200 for _ in range(10))
            assert client.get("/health", headers={"X-Padding": "a" * 4096}).status_code == 200
        # each worker logs through the vault's logging (its own writer thread): access lines in the vault's format
        assert _eventually(lambda: service.log_path.read_text().count(" INFO uvicorn.access [") >= 11)
        for _ in range(4):  # whichever worker takes the connection applies the 8 KiB limit (64 KiB by default)
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 16384)  # head unfinished
                assert sock.recv(4096).startswith(b"HTTP/1.1 431 ")
    finally:
        service.stop()


def _eventually(check: Callable[[], bool], seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True
