"""`vault serve` as a user starts it: a child process on a free loopback port, with its data under a test's
directory and only the `VAULT_*` settings a test gives (none leak in from the outer environment)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.services._proc import ServiceProcess, free_port, wait_for_http

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Served:
    url: str
    port: int
    service: ServiceProcess


def start_vault_serve(directory: Path, name: str, *args: str, **settings: str) -> Served:
    """Start `vault serve [args]` with `VAULT_<NAME>` settings and wait until /health answers 200; the caller
    stops `service` (SIGKILL by default; SIGTERM for a clean shutdown)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("VAULT_")},
        "PYTHONPATH": str(REPO),
        "VAULT_DATA_DIR": str(directory / "data"),
        "VAULT_PUBLIC_URL": url,
        **{f"VAULT_{key.upper()}": value for key, value in settings.items()},
    }
    argv = [str(Path(sys.executable).parent / "vault"), "serve", "--host", "127.0.0.1", "--port", str(port), *args]
    service = ServiceProcess(name, argv, directory, env=env, cwd=REPO)
    try:
        wait_for_http(f"{url}/health", timeout=120, proc=service.proc, accept=lambda status: status == 200)
    except BaseException:
        service.stop()
        raise
    return Served(url, port, service)
