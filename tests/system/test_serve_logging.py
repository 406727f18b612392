"""`vault serve` logs in the format its settings ask for: with `VAULT_LOG_FORMAT=json`, every log line of the
process (uvicorn's access log included) is one JSON object carrying the request's id. The app once replaced the
root logger's handlers when it was built (Litestar's own logging config), after `vault serve` had configured them,
so the setting had no effect; tests that configured logging after building the app did not see it."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import httpx

from tests.support.serve import start_vault_serve


def test_json_logs_of_vault_serve_carry_the_request_id(tmp_path: Path) -> None:
    served = start_vault_serve(tmp_path, "vault-json-logs", log_format="json")
    url, service = served.url, served.service
    try:
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
