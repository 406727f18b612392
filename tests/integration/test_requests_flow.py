"""Agency requests on SQLite and PostgreSQL: ask, answer, read within the grant; denial looks like "nothing"."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.support.api import DevTokens, answer, ask, later, move_clock, reads, subject, upload

REQUESTS = "/api/v1/requests"


def listing(client: TestClient[Litestar], headers: dict[str, str]) -> list[dict[str, Any]]:
    response = client.get(REQUESTS, headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_approval_grants_the_agency_within_purpose_and_expiry(client: TestClient[Litestar], as_user: DevTokens) -> None:
    doc = upload(client, as_user("alice"), b"certificate bytes")
    other = upload(client, as_user("alice"), b"not chosen")
    request = ask(client, as_user("olga"))
    assert request["status"] == "open"
    inbox = listing(client, as_user("alice"))
    assert [(r["id"], r["status"], r["agency"]) for r in inbox] == [(request["id"], "pending", "tax-office")]
    approved = answer(client, as_user("alice"), request["id"], [doc["id"]])
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"

    assert reads(client, as_user("olga"), doc["id"]) == (200, 200)
    assert reads(client, as_user("olga"), other["id"]) == (404, 404)
    assert reads(client, as_user("oscar"), doc["id"]) == (404, 404)
    shared = client.get("/api/v1/shared", headers=as_user("olga")).json()["items"]
    assert [(s["document_id"], s["purpose"], s["request_id"], s["permissions"]) for s in shared] == [
        (doc["id"], "income tax assessment 2026", request["id"], ["view", "download"])
    ]
    grants = client.get("/api/v1/grants", headers=as_user("alice")).json()["items"]
    assert [(g["grantee"], g["expires_at"]) for g in grants] == [("tax-office", request["expires_at"])]
    assert [(r["status"], r["documents"]) for r in listing(client, as_user("olga"))] == [("closed", [doc["id"]])]
    assert listing(client, as_user("oscar")) == []
    assert listing(client, as_user("bob")) == []


def _agency_view(client: TestClient[Litestar], officer: dict[str, str]) -> list[dict[str, Any]]:
    volatile = ("id", "created_at", "expires_at")
    return [{k: v for k, v in r.items() if k not in volatile} for r in listing(client, officer)]


@pytest.mark.parametrize("answer_with", [None, []], ids=["deny", "approve-nothing"])
def test_denial_is_indistinguishable_from_nothing_to_share(
    client: TestClient[Litestar], as_user: DevTokens, answer_with: list[str] | None
) -> None:
    upload(client, as_user("alice"), b"x")
    request = ask(client, as_user("olga"))
    assert answer(client, as_user("alice"), request["id"], answer_with).status_code == 200
    view = _agency_view(client, as_user("olga"))
    assert view == [
        {
            "agency": "tax-office",
            "citizen": subject("alice"),
            "kinds": ["certificate"],
            "purpose": "income tax assessment 2026",
            "legal_basis": "Tax Code s. 93",
            "status": "closed",
            "documents": [],
        }
    ]
    assert client.get("/api/v1/shared", headers=as_user("olga")).json()["items"] == []


@pytest.mark.parametrize(("first", "second"), [([], []), (None, []), ([], None), (None, None)])
def test_replaying_an_answer_grants_nothing_more(
    client: TestClient[Litestar], as_user: DevTokens, first: list[str] | None, second: list[str] | None
) -> None:
    doc = upload(client, as_user("alice"), b"x")
    request = ask(client, as_user("olga"))
    assert answer(client, as_user("alice"), request["id"], first).status_code == 200
    replay = answer(client, as_user("alice"), request["id"], [doc["id"]] if second is not None else None)
    assert replay.status_code == 409, replay.text
    assert replay.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/grants", headers=as_user("alice")).json()["items"] == []
    assert reads(client, as_user("olga"), doc["id"]) == (404, 404)


def test_replaying_an_approval_keeps_exactly_the_first_grants(client: TestClient[Litestar], as_user: DevTokens) -> None:
    doc = upload(client, as_user("alice"), b"x")
    request = ask(client, as_user("olga"))
    assert answer(client, as_user("alice"), request["id"], [doc["id"]]).status_code == 200
    assert answer(client, as_user("alice"), request["id"], [doc["id"]]).status_code == 409
    assert len(client.get("/api/v1/grants", headers=as_user("alice")).json()["items"]) == 1


def test_expired_request_cannot_be_answered_and_its_grants_lapse(
    client: TestClient[Litestar], as_user: DevTokens
) -> None:
    doc = upload(client, as_user("alice"), b"x")
    answered = ask(client, as_user("olga"), expires_at=later(days=2))
    ignored = ask(client, as_user("olga"), expires_at=later(days=2))
    assert answer(client, as_user("alice"), answered["id"], [doc["id"]]).status_code == 200
    assert reads(client, as_user("olga"), doc["id"]) == (200, 200)
    move_clock(client, days=2, seconds=1)
    assert reads(client, as_user("olga"), doc["id"]) == (404, 404)
    late = answer(client, as_user("alice"), ignored["id"], [doc["id"]])
    assert late.status_code == 410, late.text
    statuses = {r["id"]: r["status"] for r in listing(client, as_user("alice"))}
    assert statuses == {answered["id"]: "approved", ignored["id"]: "expired"}
    agency = {r["id"]: (r["status"], r["documents"]) for r in listing(client, as_user("olga"))}
    assert agency == {answered["id"]: ("closed", []), ignored["id"]: ("expired", [])}


def test_revoking_a_request_grant_closes_access(client: TestClient[Litestar], as_user: DevTokens) -> None:
    doc = upload(client, as_user("alice"), b"x")
    request = ask(client, as_user("olga"))
    answer(client, as_user("alice"), request["id"], [doc["id"]])
    grant = client.get("/api/v1/grants", headers=as_user("alice")).json()["items"][0]
    assert client.delete(f"/api/v1/grants/{grant['id']}", headers=as_user("alice")).status_code == 204
    assert reads(client, as_user("olga"), doc["id"]) == (404, 404)
    assert listing(client, as_user("olga"))[0]["documents"] == []


@pytest.mark.parametrize(
    ("who", "documents", "status"),
    [("bob", [], 404), ("olga", [], 403), ("alice", ["bob-doc"], 404), ("alice", ["wrong-kind"], 422)],
    ids=["other-citizen", "agency", "others-document", "kind-not-requested"],
)
def test_only_the_addressed_citizen_approves_with_own_documents_of_the_requested_kinds(
    client: TestClient[Litestar], as_user: DevTokens, who: str, documents: list[str], status: int
) -> None:
    ids = {
        "bob-doc": upload(client, as_user("bob"), b"b")["id"],
        "wrong-kind": upload(client, as_user("alice"), b"d", kind="diploma")["id"],
    }
    request = ask(client, as_user("olga"))
    response = answer(client, as_user(who), request["id"], [ids[d] for d in documents])
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert listing(client, as_user("alice"))[0]["status"] == "pending"
    assert answer(client, as_user("bob"), request["id"], None).status_code == 404


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"expires_at": later(days=400)}, 422),
        ({"expires_at": later(days=-1)}, 422),
        ({"kinds": []}, 422),
        ({"purpose": ""}, 422),
        ({"agency": "city-registry"}, 422),
        ({"issuer": "https://elsewhere"}, 422),
        ({"requester_subject": "someone"}, 422),
        ({"status": "approved"}, 422),
    ],
    ids=["too-long", "past", "no-kinds", "no-purpose", "mass-assign-agency", "issuer", "requester", "status"],
)
def test_bad_requests_are_refused(
    client: TestClient[Litestar], as_user: DevTokens, change: dict[str, Any], status: int
) -> None:
    body = {
        "citizen": subject("alice"),
        "kinds": ["certificate"],
        "purpose": "p",
        "legal_basis": "b",
        "expires_at": later(days=1),
        **change,
    }
    response = client.post(REQUESTS, json=body, headers=as_user("olga"))
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert listing(client, as_user("olga")) == []


def test_citizens_cannot_create_requests(client: TestClient[Litestar], as_user: DevTokens) -> None:
    body = {
        "citizen": subject("bob"),
        "kinds": ["certificate"],
        "purpose": "p",
        "legal_basis": "b",
        "expires_at": later(days=1),
    }
    assert client.post(REQUESTS, json=body, headers=as_user("alice")).status_code == 403
