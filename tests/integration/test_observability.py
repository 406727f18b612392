"""Operators can follow the service: Prometheus metrics, request ids on every response and in JSON log lines."""

from __future__ import annotations

import json
import logging
import re

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.support.api import DevTokens, upload
from vault.http.observability import configure_logging
from vault.settings import Settings


def test_metrics_are_scraped_and_parse(client: TestClient[Litestar], as_user: DevTokens) -> None:
    upload(client, as_user("alice"), b"counted")
    client.get("/api/v1/documents", headers={"Authorization": "Bearer junk"})
    response = client.get("/metrics")
    assert response.status_code == 200
    families = {family.name: family for family in text_string_to_metric_families(response.text)}
    requests = families["vault_requests"]
    paths = {sample.labels.get("path") for sample in requests.samples}
    assert "/api/v1/documents" in paths
    uuid_like = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
    assert not [path for path in paths if uuid_like.search(str(path))]  # route templates, never ids
    assert "vault_request_duration_seconds" in families
    assert "vault_token_denials" in families
    assert "vault_verification_in_flight" in families
    assert "vault_signing_in_flight" in families


def test_every_response_echoes_or_makes_a_request_id(client: TestClient[Litestar]) -> None:
    given = client.get("/health", headers={"X-Request-ID": "trace-1234"})
    assert given.headers["x-request-id"] == "trace-1234"
    made = client.get("/api/v1/me")  # an error before routing carries one too
    assert made.status_code == 401
    assert len(made.headers["x-request-id"]) == 32
    hostile = client.get("/health", headers={"X-Request-ID": "x" * 500})
    assert hostile.headers["x-request-id"] != "x" * 500


def test_json_log_lines_carry_the_request_id(
    client: TestClient[Litestar], as_user: DevTokens, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = upload(client, as_user("alice"), b"soon missing")
    for path in (settings.resolved_data_dir / "objects").rglob("*"):
        if path.is_file():
            path.unlink()
    handler = configure_logging("json")
    try:
        response = client.get(
            f"/api/v1/documents/{doc['id']}/content", headers={**as_user("alice"), "X-Request-ID": "r-77"}
        )
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()  # writes what is queued (the lines read below) and stops the writer thread
    assert response.status_code == 502  # logged as a warning by the problem mapper
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    mine = [entry for entry in lines if entry["request_id"] == "r-77"]
    assert mine
    assert {"time", "level", "logger", "message"} <= set(mine[0])
    assert all("Bearer" not in entry["message"] for entry in lines)
