"""`vault serve` logs in the format its settings ask for: with `VAULT_LOG_FORMAT=json`, every log line of the
process (uvicorn's access log included) is one JSON object carrying the request's id. The app once replaced the
root logger's handlers when it was built (Litestar's own logging config), after `vault serve` had configured them,
so the setting had no effect; tests that configured logging after building the app did not see it."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import httpx

from tests.services._proc import ServiceProcess, free_port, wait_for_http

REPO = Path(__file__).resolve().parents[2]


def test_json_logs_of_vault_serve_carry_the_request_id(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith("VAULT_")},
        "PYTHONPATH": str(REPO),
        "VAULT_DATA_DIR": str(tmp_path / "data"),
        "VAULT_PUBLIC_URL": url,
        "VAULT_LOG_FORMAT": "json",
    }
    argv = [str(Path(sys.executable).parent / "vault"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    service = ServiceProcess("vault-json-logs", argv, tmp_path, env=env, cwd=REPO)
    try:
        wait_for_http(f"{url}/health", timeout=120, proc=service.proc, accept=lambda status: status == 200)
        with httpx.Client(base_url=url, timeout=10) as client:
            assert client.get("/health", headers={"X-Request-ID": "log-check-1"}).status_code == 200
            assert client.get("/api/v1/me", headers={"X-Request-ID": "log-check-2"}).status_code == 401
    finally:
        service.stop(signal.SIGTERM)  # a clean shutdown writes everything queued for the log
    lines = service.log_path.read_text().splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    by_id = {record["request_id"]: record for record in records if record["logger"] == "uvicorn.access"}
    assert '"GET /health HTTP/1.1" 200' in by_id["log-check-1"]["message"]
    assert '"GET /api/v1/me HTTP/1.1" 401' in by_id["log-check-2"]["message"]
    assert {"time", "level", "logger", "message", "request_id"} <= set(by_id["log-check-1"])
    assert any(record["message"] == "Application shutdown complete." for record in records)
    # nothing logged in another format (the banner is printed, not logged)
    assert not [line for line in lines if line.startswith(("INFO", "WARNING", "ERROR"))]
