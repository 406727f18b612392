"""Sharing journeys over HTTP against a real uvicorn, with tokens from the external OpenID provider.

An agency asks, the citizen approves, the agency downloads, the citizen sees it in the access log and revokes,
and the agency's next download is 404. A share link with one download survives ten concurrent downloads with
exactly one success. Link tokens never reach the server's access log.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.services.oidc_provider import OidcProvider
from tests.support.vault_app import LiveServer, bearer, make_settings, running_server


@pytest.fixture
def server(tmp_path: Path, database_url: str, oidc_provider: OidcProvider) -> Iterator[LiveServer]:
    settings = make_settings(tmp_path, database_url, oidc_issuer=oidc_provider.issuer)
    with running_server(settings) as live:
        yield live


@pytest.fixture
def act_as(server: LiveServer, oidc_provider: OidcProvider) -> Iterator[Any]:
    """`act_as(principal)`: an `Api` for a principal of the external provider, closed after the test."""
    opened: list[Api] = []

    def make(principal: str) -> Api:
        opened.append(Api(server, oidc_provider, principal))
        return opened[-1]

    yield make
    for api in opened:
        api.http.close()


class Api:
    """An HTTP client acting as one principal of the external provider."""

    def __init__(self, server: LiveServer, provider: OidcProvider, principal: str) -> None:
        self.http = server.client(headers=bearer(provider.token(principal)))
        self.subject = str(self.http.get("/api/v1/me").raise_for_status().json()["subject"])

    def call(self, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.headers.get("content-type", "").endswith("json") else response.content


def later(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def upload(citizen: Api, data: bytes) -> str:
    headers = {"Content-Type": "application/octet-stream", "X-Document-Title": "Payslip", "X-Document-Kind": "payslip"}
    return str(citizen.call("POST", "/api/v1/documents", 201, content=data, headers=headers)["id"])


def test_agency_request_approve_download_log_revoke(act_as: Any) -> None:
    citizen, agency, other_agency = (act_as(p) for p in ("citizen-a", "agency-x", "agency-y"))
    data = os.urandom(150_000)
    document = upload(citizen, data)
    content = f"/api/v1/documents/{document}/content"

    request = agency.call(
        "POST",
        "/api/v1/requests",
        201,
        json={
            "citizen": citizen.subject,
            "kinds": ["payslip"],
            "purpose": "housing benefit",
            "legal_basis": "Social Code s. 60",
            "expires_at": later(days=14),
        },
    )
    agency.call("GET", content, 404)
    inbox = citizen.call("GET", "/api/v1/requests", 200)["items"]
    assert [(r["id"], r["status"], r["agency"]) for r in inbox] == [(request["id"], "pending", "tax-office")]
    citizen.call("POST", f"/api/v1/requests/{request['id']}/approve", 200, json={"documents": [document]})

    downloaded = agency.call("GET", content, 200)
    assert hashlib.sha256(downloaded).digest() == hashlib.sha256(data).digest()
    other_agency.call("GET", content, 404)
    assert agency.call("GET", "/api/v1/requests", 200)["items"][0]["documents"] == [document]

    log = citizen.call("GET", "/api/v1/me/access-log", 200)["items"]
    downloads = [e for e in log if e["action"] == "document.download" and e["outcome"] == "success"]
    # officers appear by role and agency: who they are is a pseudonym in the log, never their subject
    assert [(e["actor"]["subject"], e["actor"]["agency"], e["request_id"], e["purpose"]) for e in downloads] == [
        (None, "tax-office", request["id"], "housing benefit")
    ]
    denied = [e for e in log if e["outcome"] == "denied"]
    assert {(e["actor"]["role"], e["actor"]["agency"]) for e in denied} == {
        ("agency", "tax-office"),
        ("agency", "city-registry"),
    }

    (grant,) = citizen.call("GET", "/api/v1/grants", 200, params={"document": document})["items"]
    citizen.call("DELETE", f"/api/v1/grants/{grant['id']}", 204)
    agency.call("GET", content, 404)
    agency.call("GET", f"/api/v1/documents/{document}", 404)
    after = [(e["action"], e["outcome"]) for e in citizen.call("GET", "/api/v1/me/access-log", 200)["items"]]
    assert after[:3] == [("document.read", "denied"), ("document.download", "denied"), ("grant.revoke", "success")]


def test_single_use_link_under_ten_concurrent_downloads(server: LiveServer, act_as: Any) -> None:
    citizen = act_as("citizen-a")
    data = os.urandom(70_000)
    document = upload(citizen, data)
    link = citizen.call(
        "POST",
        f"/api/v1/documents/{document}/links",
        201,
        json={
            "expires_at": later(hours=1),
            "max_downloads": 1,
        },
    )
    start = threading.Barrier(10)

    def download(_: int) -> httpx.Response:
        with server.client() as anonymous:
            start.wait(timeout=30)
            return anonymous.post(f"/s/{link['token']}")

    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(download, range(10)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [410] * 9
    (winner,) = [r for r in responses if r.status_code == 200]
    assert winner.content == data
    assert all(r.headers["content-type"] == "application/problem+json" for r in responses if r.status_code == 410)
    uses = [e for e in citizen.call("GET", "/api/v1/me/access-log", 200)["items"] if e["action"] == "link.use"]
    assert sorted(e["outcome"] for e in uses) == ["denied"] * 9 + ["success"]
    assert citizen.call("GET", "/api/v1/links", 200)[0]["downloads"] == 1


def test_concurrent_approvals_grant_exactly_once(server: LiveServer, oidc_provider: OidcProvider, act_as: Any) -> None:
    citizen, agency = act_as("citizen-a"), act_as("agency-x")
    document = upload(citizen, b"payslip")
    request = agency.call(
        "POST",
        "/api/v1/requests",
        201,
        json={
            "citizen": citizen.subject,
            "kinds": ["payslip"],
            "purpose": "p",
            "legal_basis": "b",
            "expires_at": later(days=1),
        },
    )
    start = threading.Barrier(5)

    def approve(_: int) -> int:
        with server.client(headers=bearer(oidc_provider.token("citizen-a"))) as http:
            start.wait(timeout=30)
            url = f"/api/v1/requests/{request['id']}/approve"
            return http.post(url, json={"documents": [document]}).status_code

    with ThreadPoolExecutor(max_workers=5) as pool:
        statuses = sorted(pool.map(approve, range(5)))
    assert statuses == [200] + [409] * 4
    assert len(citizen.call("GET", "/api/v1/grants", 200)["items"]) == 1


class _Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_link_tokens_never_reach_the_access_log(server: LiveServer, act_as: Any) -> None:
    citizen = act_as("citizen-a")
    document = upload(citizen, b"private")
    token = citizen.call("POST", f"/api/v1/documents/{document}/links", 201, json={"expires_at": later(hours=1)})[
        "token"
    ]
    access = logging.getLogger("uvicorn.access")
    captured, level = _Captured(), access.level
    access.addHandler(captured)
    access.setLevel(logging.INFO)
    try:
        with server.client() as anonymous:
            assert anonymous.post(f"/s/{token}").status_code == 200
            assert anonymous.post(f"/s/{token}").status_code == 410
    finally:
        access.removeHandler(captured)
        access.setLevel(level)
    assert len(captured.lines) == 2, captured.lines
    assert all("/s/[redacted]" in line for line in captured.lines)
    assert not any(token in line for line in captured.lines)
