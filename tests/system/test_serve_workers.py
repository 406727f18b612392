"""`vault serve --workers N`: the worker processes start (they import the guarded HTTP protocol by name) and
apply the limits of their settings. Loopback only; the server is stopped by process group."""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.services._proc import ServiceProcess, free_port, wait_for_http

REPO = Path(__file__).resolve().parents[2]


def test_two_workers_serve_and_refuse_an_oversized_header_with_431(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith("VAULT_")},
        "PYTHONPATH": str(REPO),
        "VAULT_DATA_DIR": str(tmp_path / "data"),
        "VAULT_PUBLIC_URL": url,
        "VAULT_MAX_HEADER_BYTES": "8192",
    }
    argv = [str(Path(sys.executable).parent / "vault"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    service = ServiceProcess("vault-workers", [*argv, "--workers", "2"], tmp_path, env=env, cwd=REPO)
    try:
        wait_for_http(f"{url}/health", timeout=120, proc=service.proc, accept=lambda status: status == 200)
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
