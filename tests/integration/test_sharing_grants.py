"""Grants on SQLite and PostgreSQL: owners share with an agency or a person; revocation and expiry hold at once."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.support.api import DevTokens, later, move_clock, reads, share, subject, upload

DOCS = "/api/v1/documents"


@pytest.mark.parametrize(
    ("grantee", "allowed", "refused"),
    [
        ({"agency": "tax-office"}, "olga", ["oscar", "bob"]),
        ({"subject": subject("bob")}, "bob", ["olga", "oscar"]),
    ],
    ids=["agency", "person"],
)
def test_grant_lets_exactly_the_grantee_read(
    client: TestClient[Litestar], as_user: DevTokens, grantee: dict[str, str], allowed: str, refused: list[str]
) -> None:
    doc = upload(client, as_user("alice"), b"shared bytes")
    share(client, as_user("alice"), doc["id"], **grantee)
    assert reads(client, as_user(allowed), doc["id"]) == (200, 200)
    assert client.get(f"{DOCS}/{doc['id']}/content", headers=as_user(allowed)).content == b"shared bytes"
    meta = client.get(f"{DOCS}/{doc['id']}", headers=as_user(allowed)).json()
    assert meta["owned"] is False
    shared = client.get("/api/v1/shared", headers=as_user(allowed)).json()["items"]
    assert [(s["document_id"], s["title"]) for s in shared] == [(doc["id"], "Birth certificate")]
    for user in refused:
        assert reads(client, as_user(user), doc["id"]) == (404, 404), user
        assert client.get("/api/v1/shared", headers=as_user(user)).json()["items"] == []
    assert reads(client, as_user("audrey"), doc["id"]) == (403, 403)  # the role guard refuses first


@pytest.mark.parametrize(
    ("permissions", "expected"),
    [(["view"], (200, 404)), (["download"], (404, 200)), (["view", "download"], (200, 200)), (["sign"], (404, 404))],
)
def test_permissions_are_enforced_one_by_one(
    client: TestClient[Litestar], as_user: DevTokens, permissions: list[str], expected: tuple[int, int]
) -> None:
    doc = upload(client, as_user("alice"), b"x")
    share(client, as_user("alice"), doc["id"], agency="tax-office", permissions=permissions)
    assert reads(client, as_user("olga"), doc["id"]) == expected


def test_revocation_takes_effect_on_the_next_request(client: TestClient[Litestar], as_user: DevTokens) -> None:
    doc = upload(client, as_user("alice"), b"x")
    grant = share(client, as_user("alice"), doc["id"], agency="tax-office")
    assert reads(client, as_user("olga"), doc["id"]) == (200, 200)
    assert client.delete(f"/api/v1/grants/{grant['id']}", headers=as_user("alice")).status_code == 204
    assert reads(client, as_user("olga"), doc["id"]) == (404, 404)
    assert client.get("/api/v1/shared", headers=as_user("olga")).json()["items"] == []
    listed = client.get("/api/v1/grants", headers=as_user("alice")).json()["items"]
    assert [(g["id"], g["active"], g["revoked_at"] is not None) for g in listed] == [(grant["id"], False, True)]
    assert client.delete(f"/api/v1/grants/{grant['id']}", headers=as_user("alice")).status_code == 204


def test_expired_grant_refuses_access(client: TestClient[Litestar], as_user: DevTokens) -> None:
    doc = upload(client, as_user("alice"), b"x")
    share(client, as_user("alice"), doc["id"], agency="tax-office", expires_at=later(days=2))
    move_clock(client, days=1)
    assert reads(client, as_user("olga"), doc["id"]) == (200, 200)
    move_clock(client, days=2, seconds=1)
    assert reads(client, as_user("olga"), doc["id"]) == (404, 404)
    assert client.get("/api/v1/shared", headers=as_user("olga")).json()["items"] == []
    assert client.get("/api/v1/grants", headers=as_user("alice")).json()["items"][0]["active"] is False


def test_only_the_owner_shares_lists_and_revokes(client: TestClient[Litestar], as_user: DevTokens) -> None:
    doc = upload(client, as_user("alice"), b"x")
    grant = share(client, as_user("alice"), doc["id"], agency="tax-office")
    body = {"agency": "city-registry", "permissions": ["view"], "expires_at": later(days=1)}
    assert client.post(f"{DOCS}/{doc['id']}/grants", json=body, headers=as_user("bob")).status_code == 404
    assert client.delete(f"/api/v1/grants/{grant['id']}", headers=as_user("bob")).status_code == 404
    assert client.get("/api/v1/grants", headers=as_user("bob")).json()["items"] == []
    # a grantee cannot re-share or revoke either
    assert client.post(f"{DOCS}/{doc['id']}/grants", json=body, headers=as_user("olga")).status_code == 403
    assert client.delete(f"/api/v1/grants/{grant['id']}", headers=as_user("olga")).status_code == 403
    assert reads(client, as_user("olga"), doc["id"]) == (200, 200)


def test_grants_list_filters_by_document_and_paginates(client: TestClient[Litestar], as_user: DevTokens) -> None:
    first = upload(client, as_user("alice"), b"1")
    second = upload(client, as_user("alice"), b"2")
    made = [share(client, as_user("alice"), d["id"], agency="tax-office")["id"] for d in (first, second, first)]
    only_first = client.get("/api/v1/grants", params={"document": first["id"]}, headers=as_user("alice")).json()
    assert [g["id"] for g in only_first["items"]] == [made[2], made[0]]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/grants", params=params, headers=as_user("alice")).json()
        seen += [g["id"] for g in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert seen == list(reversed(made))


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"agency": "tax-office", "permissions": ["view"], "expires_at": later(days=400)}, 422),
        ({"agency": "tax-office", "permissions": ["view"], "expires_at": later(days=-1)}, 422),
        ({"agency": "tax-office", "permissions": ["view"], "expires_at": "2030-01-01T00:00:00"}, 422),
        ({"agency": "tax-office", "permissions": ["view"]}, 422),
        ({"agency": "tax-office", "permissions": [], "expires_at": later(days=1)}, 422),
        ({"agency": "tax-office", "permissions": ["admin"], "expires_at": later(days=1)}, 422),
        ({"permissions": ["view"], "expires_at": later(days=1)}, 422),
        ({"agency": "tax-office", "subject": "x", "permissions": ["view"], "expires_at": later(days=1)}, 422),
        ({"subject": subject("alice"), "permissions": ["view"], "expires_at": later(days=1)}, 422),
        ({"agency": "tax-office", "permissions": ["view"], "expires_at": later(days=1), "owner_id": "x"}, 422),
        ({"agency": "tax-office", "permissions": ["view"], "expires_at": later(days=1), "issuer": "x"}, 422),
        ({"agency": "tax-office", "permissions": ["view"], "expires_at": later(days=1), "document_id": "x"}, 422),
    ],
    ids=[
        "more-than-a-year",
        "past",
        "naive-time",
        "no-expiry",
        "no-permission",
        "unknown-permission",
        "no-grantee",
        "two-grantees",
        "self",
        "mass-assign-owner",
        "mass-assign-issuer",
        "mass-assign-document",
    ],
)
def test_bad_grants_are_refused_with_problem_details(
    client: TestClient[Litestar], as_user: DevTokens, body: dict[str, Any], status: int
) -> None:
    doc = upload(client, as_user("alice"), b"x")
    response = client.post(f"{DOCS}/{doc['id']}/grants", json=body, headers=as_user("alice"))
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/grants", headers=as_user("alice")).json()["items"] == []


def test_erasing_a_document_removes_its_grants(client: TestClient[Litestar], as_user: DevTokens) -> None:
    doc = upload(client, as_user("alice"), b"x")
    share(client, as_user("alice"), doc["id"], agency="tax-office")
    assert client.delete(f"{DOCS}/{doc['id']}", headers=as_user("alice")).status_code == 204
    assert client.get("/api/v1/grants", headers=as_user("alice")).json()["items"] == []
    assert client.get("/api/v1/shared", headers=as_user("olga")).json()["items"] == []
