"""Share links on SQLite and PostgreSQL: token shown once and stored hashed, limits, passwords, expiry, revocation."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from tests.support.api import DevTokens, later, make_link, move_clock, upload
from vault.app import services_of
from vault.audit.models import AuditEntryRow
from vault.links.models import ShareLink
from vault.links.redaction import LinkTokenFilter

DOCS = "/api/v1/documents"


def stored(client: TestClient[Litestar]) -> tuple[list[ShareLink], list[bytes]]:
    """Every share-link row and every audit entry, read straight from the database."""

    async def read() -> tuple[list[ShareLink], list[bytes]]:
        await services_of(client.app).events.integrator.settle()  # what was queued so far gets its place
        async with services_of(client.app).db.transaction() as session:
            links = list(await session.scalars(select(ShareLink)))
            entries = [bytes(c) for c in await session.scalars(select(AuditEntryRow.canonical))]
            return links, entries

    return client.blocking_portal.call(read)


def assert_problem(response: Any, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_link_serves_the_document_without_login_and_keeps_only_a_hash(
    client: TestClient[Litestar], as_user: DevTokens
) -> None:
    doc = upload(client, as_user("alice"), b"payload via link", media_type="text/plain")
    created = make_link(client, as_user("alice"), doc["id"], max_downloads=2)
    token = created["token"]
    assert len(token) >= 43
    assert created["url"].endswith(f"/s/{token}")
    response = client.post(f"/s/{token}")
    assert response.status_code == 200
    assert response.content == b"payload via link"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    links, entries = stored(client)
    assert [link.token_hash for link in links] == [hashlib.sha256(token.encode()).hexdigest()]
    assert not any(token.encode() in entry for entry in entries)
    listed = client.get("/api/v1/links", headers=as_user("alice")).json()
    assert [(link["id"], link["downloads"]) for link in listed] == [(created["link"]["id"], 1)]
    assert "token" not in listed[0]


def test_download_limit_then_gone(client: TestClient[Litestar], as_user: DevTokens) -> None:
    doc = upload(client, as_user("alice"), b"once")
    token = make_link(client, as_user("alice"), doc["id"], max_downloads=1)["token"]
    assert client.post(f"/s/{token}").status_code == 200
    assert_problem(client.post(f"/s/{token}"), 410)


def test_unknown_token_is_not_found(client: TestClient[Litestar]) -> None:
    assert_problem(client.post("/s/" + "A" * 43), 404)


def test_expired_link_is_gone(client: TestClient[Litestar], as_user: DevTokens) -> None:
    doc = upload(client, as_user("alice"), b"x")
    token = make_link(client, as_user("alice"), doc["id"], expires_at=later(hours=2), max_downloads=5)["token"]
    move_clock(client, hours=1)
    assert client.post(f"/s/{token}").status_code == 200
    move_clock(client, hours=2, seconds=1)
    assert_problem(client.post(f"/s/{token}"), 410)


def test_revoked_link_is_gone_and_only_its_owner_revokes(client: TestClient[Litestar], as_user: DevTokens) -> None:
    doc = upload(client, as_user("alice"), b"x")
    created = make_link(client, as_user("alice"), doc["id"], max_downloads=5)
    link_id = created["link"]["id"]
    assert_problem(client.delete(f"/api/v1/links/{link_id}", headers=as_user("bob")), 404)
    assert client.post(f"/s/{created['token']}").status_code == 200
    assert client.delete(f"/api/v1/links/{link_id}", headers=as_user("alice")).status_code == 204
    assert_problem(client.post(f"/s/{created['token']}"), 410)


def test_password_protected_link(client: TestClient[Litestar], as_user: DevTokens) -> None:
    doc = upload(client, as_user("alice"), b"secret stuff")
    created = make_link(client, as_user("alice"), doc["id"], password="correct horse", max_downloads=3)
    token = created["token"]
    assert created["link"]["password_protected"] is True
    assert_problem(client.post(f"/s/{token}"), 403)
    assert_problem(client.post(f"/s/{token}", headers={"X-Link-Password": "wrong horse"}), 403)
    assert client.post(f"/s/{token}", headers={"X-Link-Password": "correct horse"}).content == b"secret stuff"
    assert client.post(f"/s/{token}", data={"password": "correct horse"}).content == b"secret stuff"
    assert_problem(client.post(f"/s/{token}", data={"password": "nope"}), 403)
    links, _ = stored(client)
    assert links[0].password_hash is not None
    assert links[0].password_hash.startswith("$argon2id$")
    assert links[0].uses == 2  # refused attempts consume nothing


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"expires_at": later(days=31)}, 422),
        ({"expires_at": later(days=-1)}, 422),
        ({"expires_at": later(days=1), "max_downloads": 0}, 422),
        ({"expires_at": later(days=1), "max_downloads": 101}, 422),
        ({"expires_at": later(days=1), "password": "short"}, 422),
        ({"expires_at": later(days=1), "token": "chosen-by-client"}, 422),
        ({"expires_at": later(days=1), "owner_id": "x"}, 422),
        ({"max_downloads": 1}, 422),
    ],
    ids=["too-long", "past", "zero", "too-many", "short-password", "client-token", "mass-assign", "no-expiry"],
)
def test_bad_links_are_refused(
    client: TestClient[Litestar], as_user: DevTokens, body: dict[str, Any], status: int
) -> None:
    doc = upload(client, as_user("alice"), b"x")
    assert_problem(client.post(f"{DOCS}/{doc['id']}/links", json=body, headers=as_user("alice")), status)
    assert client.get("/api/v1/links", headers=as_user("alice")).json() == []


def test_links_to_others_documents_are_not_found(client: TestClient[Litestar], as_user: DevTokens) -> None:
    doc = upload(client, as_user("alice"), b"x")
    body = {"expires_at": later(days=1)}
    assert_problem(client.post(f"{DOCS}/{doc['id']}/links", json=body, headers=as_user("bob")), 404)


@pytest.mark.parametrize(
    ("msg", "args"),
    [
        ('%s - "%s %s HTTP/%s" %d', ("127.0.0.1:5", "GET", "/s/SECRETTOKEN123", "1.1", 200)),
        ("unhandled error on %s %s", ("GET", "/s/SECRETTOKEN123?x=1")),
        ("link /s/SECRETTOKEN123 failed", ()),
    ],
    ids=["uvicorn-access", "args", "message"],
)
def test_log_filter_redacts_link_tokens(msg: str, args: tuple[Any, ...]) -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, msg, args, None)
    assert LinkTokenFilter().filter(record) is True
    text = record.getMessage()
    assert "SECRETTOKEN123" not in text
    assert "/s/[redacted]" in text


def test_tampered_object_is_never_served_through_a_link(
    client: TestClient[Litestar], as_user: DevTokens, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    doc = upload(client, as_user("alice"), b"original bytes" * 1000)
    token = make_link(client, as_user("alice"), doc["id"], max_downloads=2)["token"]
    (stored_object,) = [p for p in (settings.resolved_data_dir / "objects").rglob("*") if p.is_file()]
    raw = bytearray(stored_object.read_bytes())
    raw[100] ^= 0x01
    stored_object.write_bytes(bytes(raw))
    with caplog.at_level(logging.INFO):
        assert_problem(client.post(f"/s/{token}"), 502)
    server_side = [r.getMessage() for r in caplog.records if not r.name.startswith("httpx")]  # httpx: the client
    assert any("/s/[redacted]" in line for line in server_side)  # the 5xx is logged with its path, redacted
    assert not any(token in line for line in server_side)
    assert logging.getLogger("vault.http.problems").filters, "the problems logger filters records itself"
    _, entries = stored(client)
    assert any(b'"document.integrity_failure"' in entry for entry in entries)
