"""The citizen's access log on SQLite and PostgreSQL: every event touching their data, newest first, and no more."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.support.api import DevTokens, answer, ask, make_link, share, subject, upload
from tests.support.vault_app import settle_audit

LOG = "/api/v1/me/access-log"


def entries(client: TestClient[Litestar], headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    settle_audit(client)  # the log is sequenced within a second: wait for what was queued, not for the clock
    response = client.get(LOG, headers=headers, params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_the_log_names_who_did_what_under_which_grant_and_purpose(
    client: TestClient[Litestar], as_user: DevTokens
) -> None:
    doc = upload(client, as_user("alice"), b"x")
    grant = share(client, as_user("alice"), doc["id"], agency="tax-office", purpose="tax check")
    assert client.get(f"/api/v1/documents/{doc['id']}/content", headers=as_user("olga")).status_code == 200
    assert client.get(f"/api/v1/documents/{doc['id']}", headers=as_user("bob")).status_code == 404
    link = make_link(client, as_user("alice"), doc["id"])
    assert client.post(f"/s/{link['token']}").status_code == 200
    request = ask(client, as_user("oscar"), purpose="address check")
    answer(client, as_user("alice"), request["id"], None)

    log = entries(client, as_user("alice"))
    seqs = [e["seq"] for e in log]
    assert seqs == sorted(seqs, reverse=True)
    # actors appear by role and agency; who they are is an erasable pseudonym in the log, never a subject
    summary = [(e["action"], e["outcome"], e["actor"]["role"], e["actor"]["agency"], e["purpose"]) for e in log]
    assert summary == [
        ("request.deny", "success", "citizen", None, "address check"),
        ("request.create", "success", "agency", "city-registry", "address check"),
        ("link.use", "success", None, None, "share link"),
        ("link.create", "success", "citizen", None, None),
        ("document.read", "denied", "citizen", None, None),
        ("document.download", "success", "agency", "tax-office", "tax check"),
        ("grant.create", "success", "citizen", None, "tax check"),
        ("document.upload", "success", "citizen", None, None),
    ]
    # the owner's own actions are shown as hers; nobody else is named (bob's refused read included)
    assert [e["actor"]["subject"] for e in log] == [
        subject("alice"),
        None,
        None,
        subject("alice"),
        None,
        None,
        subject("alice"),
        subject("alice"),
    ]
    download = log[5]
    assert (download["document_id"], download["grant_id"]) == (doc["id"], grant["id"])
    assert log[2]["link_id"] == link["link"]["id"]
    assert log[0]["request_id"] == request["id"]


def test_others_see_nothing_of_it(client: TestClient[Litestar], as_user: DevTokens) -> None:
    doc = upload(client, as_user("alice"), b"x")
    assert client.get(f"/api/v1/documents/{doc['id']}", headers=as_user("bob")).status_code == 404
    upload(client, as_user("bob"), b"y")
    assert [e["action"] for e in entries(client, as_user("bob"))] == ["document.upload"]
    seen = entries(client, as_user("alice"))[0]
    assert (seen["action"], seen["outcome"], seen["actor"]["role"]) == ("document.read", "denied", "citizen")
    assert seen["actor"]["subject"] is None  # bob is not named to alice


@pytest.mark.parametrize(("user", "status"), [("olga", 403), ("audrey", 403)])
def test_only_citizens_read_an_access_log(
    client: TestClient[Litestar], as_user: DevTokens, user: str, status: int
) -> None:
    assert client.get(LOG, headers=as_user(user)).status_code == status


def test_a_citizen_without_data_has_an_empty_log(client: TestClient[Litestar], as_user: DevTokens) -> None:
    assert entries(client, as_user("bob")) == []


def test_the_log_paginates_by_sequence_number(client: TestClient[Litestar], as_user: DevTokens) -> None:
    for i in range(5):
        upload(client, as_user("alice"), f"{i}".encode())
    everything = [e["seq"] for e in entries(client, as_user("alice"))]
    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor is not None else {})}
        page = client.get(LOG, headers=as_user("alice"), params=params).json()
        seen += [e["seq"] for e in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert seen == everything
    assert len(seen) == 5
    assert client.get(LOG, headers=as_user("alice"), params={"cursor": -1}).status_code == 400


def test_every_sharing_action_is_audited_without_titles_tokens_or_passwords(
    client: TestClient[Litestar], as_user: DevTokens
) -> None:
    from tests.integration.test_sharing_links import stored

    doc = upload(client, as_user("alice"), b"x", title="Very Private Title")
    grant = share(client, as_user("alice"), doc["id"], subject=subject("bob"), permissions=["view"])
    client.delete(f"/api/v1/grants/{grant['id']}", headers=as_user("alice"))
    link = make_link(client, as_user("alice"), doc["id"], password="pass phrase 1")
    client.post(f"/s/{link['token']}", headers={"X-Link-Password": "pass phrase 1"})
    client.delete(f"/api/v1/links/{link['link']['id']}", headers=as_user("alice"))
    approved, denied = ask(client, as_user("olga")), ask(client, as_user("olga"))
    answer(client, as_user("alice"), approved["id"], [doc["id"]])
    answer(client, as_user("alice"), denied["id"], None)

    actions = {e["action"] for e in entries(client, as_user("alice"), limit=100)}
    assert {
        "grant.create",
        "grant.revoke",
        "link.create",
        "link.use",
        "link.revoke",
        "request.create",
        "request.approve",
        "request.deny",
    } <= actions
    _, canonical = stored(client)
    for secret in (b"Very Private Title", link["token"].encode(), b"pass phrase 1", b"$argon2"):
        assert not any(secret in entry for entry in canonical), secret
