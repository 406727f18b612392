"""The owner read lane on SQLite and PostgreSQL: it answers an owner's metadata read exactly as the route does
(body, headers, metrics, audit entry), and leaves everything else to the app, which answers as before."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from litestar.types import ASGIApp, Receive, Scope, Send

from tests.support.api import DOCS, DevTokens, assert_problem, share, upload
from tests.support.vault_app import run_in_app, settle_audit
from vault.app import services_of
from vault.core.errors import AuditUnavailableError
from vault.documents.lane import OwnerReadLane
from vault.documents.owner_read import OwnerReader


class Framework:
    """Counts the requests the lane passed on to the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.calls += 1
        await self.app(scope, receive, send)


def find_lane(app: Litestar) -> OwnerReadLane:
    handler: Any = app.asgi_handler
    while not isinstance(handler, OwnerReadLane):
        handler = handler.app
    return handler


@pytest.fixture
def framework(client: TestClient[Litestar]) -> Iterator[Framework]:
    lane = find_lane(client.app)
    counting = Framework(lane.app)
    lane.app = counting
    yield counting
    lane.app = counting.app


def comparable(response: Any) -> tuple[int, bytes, dict[str, str]]:
    headers = {k: v for k, v in response.headers.items() if k not in {"date", "x-request-id"}}
    return response.status_code, response.content, headers


def test_the_lane_answers_an_owner_as_the_route_does(
    client: TestClient[Litestar], as_user: DevTokens, framework: Framework
) -> None:
    alice = as_user("alice")
    doc = upload(client, alice, b"%PDF-1.4 lane", title="Diploma")
    second = client.post(
        f"{DOCS}/{doc['id']}/versions", content=b"second", headers={**alice, "Content-Type": "text/plain"}
    )
    assert second.status_code == 201, second.text
    before = framework.calls
    by_lane = client.get(f"{DOCS}/{doc['id']}", headers=alice)
    assert framework.calls == before  # answered in front of the framework
    # the route accepts an upper-case id, the lane does not: the same read through the framework
    by_route = client.get(f"{DOCS}/{doc['id'].upper()}", headers=alice)
    assert framework.calls == before + 1
    assert comparable(by_lane) == comparable(by_route)
    assert by_lane.json()["versions"] == 2
    assert by_lane.json()["version"] == 2
    assert by_lane.json()["media_type"] == "text/plain"
    assert by_lane.headers["x-request-id"]
    # both reads are in the log, as the same entry
    settle_audit(client)
    log = client.get("/api/v1/me/access-log", headers=alice).json()["items"]
    reads = [{k: v for k, v in e.items() if k not in {"seq", "time"}} for e in log if e["action"] == "document.read"]
    assert len(reads) == 2
    assert reads[0] == reads[1]
    assert reads[0]["outcome"] == "success"
    assert reads[0]["document_id"] == doc["id"]


def test_the_lane_records_the_routes_metrics(
    client: TestClient[Litestar], as_user: DevTokens, framework: Framework
) -> None:
    alice = as_user("alice")
    doc = upload(client, alice, b"metrics")

    def count() -> float:
        text = client.get("/metrics").text
        line = 'vault_requests_total{app_name="citizen_vault",method="GET",path="/api/v1/documents/{document_id}"'
        found = [row for row in text.splitlines() if row.startswith(line) and 'status_code="200"' in row]
        return float(found[0].rsplit(" ", 1)[1]) if found else 0.0

    start, calls = count(), framework.calls
    for _ in range(3):
        assert client.get(f"{DOCS}/{doc['id']}", headers=alice).status_code == 200
    assert framework.calls == calls  # all three answered by the lane
    assert count() == start + 3


def test_everything_but_an_owners_read_goes_to_the_app(
    client: TestClient[Litestar], as_user: DevTokens, framework: Framework
) -> None:
    alice, bob, olga = as_user("alice"), as_user("bob"), as_user("olga")
    doc = upload(client, alice, b"shared")
    share(client, alice, doc["id"], agency="tax-office", purpose="tax check")
    for headers in (bob, olga):  # first use of these tokens: the middleware validates them
        client.get("/api/v1/me", headers=headers)
    cases = [
        (olga, f"{DOCS}/{doc['id']}", 200),  # a grantee: the route answers, owned false
        (bob, f"{DOCS}/{doc['id']}", 404),  # a stranger: denied and recorded by the route
        (alice, f"{DOCS}/00000000-0000-4000-8000-000000000000", 404),  # no such document
        (alice, f"{DOCS}/{doc['id']}?verbose=1", 400),  # a query: the route refuses unknown parameters
        ({"Authorization": "Bearer not-a-token"}, f"{DOCS}/{doc['id']}", 401),
        ({}, f"{DOCS}/{doc['id']}", 401),
    ]
    for headers, path, status in cases:
        calls = framework.calls
        response = client.get(path, headers=headers)
        assert response.status_code == status, (path, response.text)
        assert framework.calls == calls + 1, path
        if status != 200:
            assert_problem(response, status)
    assert client.get(f"{DOCS}/{doc['id']}", headers=olga).json()["owned"] is False


def test_a_database_that_fails_the_lane_leaves_the_read_to_the_app(
    client: TestClient[Litestar], as_user: DevTokens, framework: Framework, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = as_user("alice")
    doc = upload(client, alice, b"db")

    async def broken(self: OwnerReader, document_id: object) -> None:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(OwnerReader, "row", broken)
    calls = framework.calls
    response = client.get(f"{DOCS}/{doc['id']}", headers=alice)
    assert response.status_code == 200
    assert response.json()["id"] == doc["id"]
    assert framework.calls == calls + 1


def test_a_read_the_lane_cannot_record_is_recorded_or_refused_by_the_app(
    client: TestClient[Litestar], as_user: DevTokens, framework: Framework, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = as_user("alice")
    doc = upload(client, alice, b"audit")
    trail = services_of(client.app).trail
    record_now = trail.record_now
    failures = {"left": 1}

    async def flaky(entry: Any) -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise AuditUnavailableError()
        await record_now(entry)

    monkeypatch.setattr(trail, "record_now", flaky)
    calls = framework.calls
    assert client.get(f"{DOCS}/{doc['id']}", headers=alice).status_code == 200  # the route recorded it
    assert framework.calls == calls + 1
    failures["left"] = 2  # the lane's attempt and the route's: nothing is served unrecorded
    assert_problem(client.get(f"{DOCS}/{doc['id']}", headers=alice), 503)


def test_the_readers_agree_with_the_engine(client: TestClient[Litestar], as_user: DevTokens) -> None:
    """The lane's own connection (sqlite3 or asyncpg) gives what SQLAlchemy's engine gives, types included."""
    alice = as_user("alice")
    doc = upload(client, alice, b"types", title="Permit")
    engine = services_of(client.app).db.engine

    async def both() -> tuple[Any, Any, str]:
        own = OwnerReader(engine)
        fallback = OwnerReader(engine)
        fallback.kind = "engine"
        try:
            document_id = uuid.UUID(doc["id"])
            return await own.row(document_id), await fallback.row(document_id), own.kind
        finally:
            await own.close()

    own, fallback, kind = run_in_app(client, both)
    assert kind in {"sqlite", "asyncpg"}
    assert own == fallback
    assert [type(value) for value in own] == [type(value) for value in fallback]
    assert own.title == "Permit"
    assert own.versions == 1


def test_concurrent_reads_each_get_their_own_row(client: TestClient[Litestar], as_user: DevTokens) -> None:
    """Reads asked for together (on PostgreSQL: one batched query) each get their document's row, or None for a
    document that does not exist, exactly as the engine reads them one by one."""
    alice = as_user("alice")
    ids = [uuid.UUID(upload(client, alice, b"batch %d" % n, title=f"Doc {n}")["id"]) for n in range(3)]
    ids += [uuid.uuid4(), ids[0]]  # a missing document, and one asked for twice
    engine = services_of(client.app).db.engine

    async def both() -> tuple[list[Any], list[Any]]:
        own = OwnerReader(engine)
        fallback = OwnerReader(engine)
        fallback.kind = "engine"
        try:
            together = await asyncio.gather(*(own.row(ident) for ident in ids))
            return list(together), [await fallback.row(ident) for ident in ids]
        finally:
            await own.close()

    together, one_by_one = run_in_app(client, both)
    assert together == one_by_one
    assert [row.title if row else None for row in together] == ["Doc 0", "Doc 1", "Doc 2", None, "Doc 0"]


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # batches are PostgreSQL's
def test_a_failed_batch_fails_each_of_its_reads(client: TestClient[Litestar]) -> None:
    """When the query carrying several reads fails, each of them gets the error (and the lane's caller leaves the
    request to the app), and the next reads are served again."""
    engine = services_of(client.app).db.engine

    async def reads() -> tuple[list[Any], Any]:
        reader = OwnerReader(engine)
        assert reader.kind == "asyncpg"
        raw = reader._pool
        pool = await raw.get()

        class FailsOnce:
            """The reader's pool, but its first query fails as a dropped connection would."""

            failed = False

            async def get(self) -> Any:
                return self

            async def fetch(self, *args: Any) -> Any:
                if not self.failed:
                    self.failed = True
                    raise OSError("connection reset")
                return await pool.fetch(*args)

            async def close(self) -> None:
                await raw.close()

        reader._pool = FailsOnce()  # type: ignore[assignment]
        try:
            failed = await asyncio.gather(*(reader.row(uuid.uuid4()) for _ in range(3)), return_exceptions=True)
            return failed, await reader.row(uuid.uuid4())
        finally:
            await reader.close()

    failed, after = run_in_app(client, reads)
    assert [type(error) for error in failed] == [OSError, OSError, OSError]
    assert after is None
