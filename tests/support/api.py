"""Helpers the API tests share: tokens of demo users, uploads, grants, links, requests, issuance and problems."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient

import auth
import signing
from tests.support.vault_app import clock_of
from vault.app import services_of

PROBLEM = "application/problem+json"
REQUESTS = "/api/v1/requests"

DOCS = "/api/v1/documents"


def upload(
    client: TestClient[Litestar],
    headers: dict[str, str],
    data: bytes,
    title: str = "Birth certificate",
    media_type: str = "application/octet-stream",
    kind: str = "certificate",
) -> dict:
    response = client.post(
        DOCS,
        content=data,
        headers={**headers, "Content-Type": media_type, "X-Document-Title": title, "X-Document-Kind": kind},
    )
    assert response.status_code == 201, response.text
    return response.json()


def assert_problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert body["title"]
    assert body["detail"]
    return body


def make_link(client: TestClient[Litestar], owner: dict[str, str], document_id: str, **body: Any) -> dict[str, Any]:
    body.setdefault("expires_at", later(days=1))
    response = client.post(f"{DOCS}/{document_id}/links", json=body, headers=owner)
    assert response.status_code == 201, response.text
    return response.json()


def subject(user: str) -> str:
    """The `sub` of a demo user of the development provider."""
    return auth.DEMO_USERS[user].subject


def later(**delta: float) -> str:
    """An ISO time `delta` from now (UTC)."""
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def move_clock(client: TestClient[Litestar], **delta: float) -> None:
    """Move the sharing services' clock (no sleeping): expiry is checked against it on every request."""
    clock_of(client.app).move(**delta)


def share(client: TestClient[Litestar], owner: dict[str, str], document_id: str, **body: Any) -> dict[str, Any]:
    body.setdefault("permissions", ["view", "download"])
    body.setdefault("expires_at", later(days=7))
    response = client.post(f"{DOCS}/{document_id}/grants", json=body, headers=owner)
    assert response.status_code == 201, response.text
    return response.json()


def reads(client: TestClient[Litestar], headers: dict[str, str], document_id: str) -> tuple[int, int]:
    """(metadata status, content status) for a caller."""
    meta = client.get(f"{DOCS}/{document_id}", headers=headers).status_code
    content = client.get(f"{DOCS}/{document_id}/content", headers=headers).status_code
    return meta, content


def ask(client: TestClient[Litestar], officer: dict[str, str], citizen: str = "alice", **body: Any) -> dict[str, Any]:
    body = {
        "citizen": subject(citizen),
        "kinds": ["certificate"],
        "purpose": "income tax assessment 2026",
        "legal_basis": "Tax Code s. 93",
        "expires_at": later(days=30),
        **body,
    }
    response = client.post(REQUESTS, json=body, headers=officer)
    assert response.status_code == 201, response.text
    return response.json()


def answer(client: TestClient[Litestar], citizen: dict[str, str], request_id: str, documents: list[str] | None) -> Any:
    if documents is None:
        return client.post(f"{REQUESTS}/{request_id}/deny", headers=citizen)
    return client.post(f"{REQUESTS}/{request_id}/approve", json={"documents": documents}, headers=citizen)


MINIMAL = Path(__file__).resolve().parents[1] / "data" / "pdf" / "minimal.pdf"


def sign_with(pki: signing.DevPki) -> bytes:
    """minimal.pdf signed (PAdES B-B) with the seal of a development PKI."""

    async def run() -> bytes:
        service = signing.PdfSigningService(
            pki.load_signer(), tsa_url=None, trust_roots=pki.trust_roots(), allow_fetching=False
        )
        try:
            return await service.sign(MINIMAL.read_bytes(), signing.SignRequest(reason="issued"))
        finally:
            await service.aclose()

    return asyncio.run(run())


class DevTokens:
    """Access tokens from the built-in development provider, by demo user name."""

    def __init__(self, app: Litestar) -> None:
        self._provider = services_of(app).dev_idp

    def __call__(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._provider.issue_access_token(user)}"}
