"""The documents API on SQLite and PostgreSQL: upload, list, read, download, versions, erase."""

from __future__ import annotations

import hashlib
import os

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.support.api import DOCS, DevTokens, upload


def test_upload_list_read_download_round_trip(client: TestClient[Litestar], as_user: DevTokens) -> None:
    data = os.urandom(300_000)
    doc = upload(client, as_user("alice"), data)
    assert doc["size"] == len(data)
    assert doc["sha256"] == hashlib.sha256(data).hexdigest()
    assert doc["version"] == 1
    assert doc["title"] == "Birth certificate"

    listing = client.get(DOCS, headers=as_user("alice")).json()
    assert [d["id"] for d in listing["items"]] == [doc["id"]]

    meta = client.get(f"{DOCS}/{doc['id']}", headers=as_user("alice")).json()
    assert meta["sha256"] == doc["sha256"]

    body = client.get(f"{DOCS}/{doc['id']}/content", headers=as_user("alice"))
    assert body.status_code == 200
    assert body.content == data
    assert body.headers["content-type"].startswith("application/octet-stream")


@pytest.mark.parametrize(
    ("range_header", "start", "end"),
    [
        ("bytes=0-0", 0, 1),
        ("bytes=65530-65545", 65530, 65546),  # across a chunk boundary
        ("bytes=200000-", 200000, 300000),
        ("bytes=-1000", 299000, 300000),
        ("bytes=131072-196607", 131072, 196608),  # exactly one chunk
    ],
)
def test_range_requests_return_exact_slices(
    client: TestClient[Litestar], as_user: DevTokens, range_header: str, start: int, end: int
) -> None:
    data = os.urandom(300_000)
    doc = upload(client, as_user("alice"), data)
    response = client.get(f"{DOCS}/{doc['id']}/content", headers={**as_user("alice"), "Range": range_header})
    assert response.status_code == 206
    assert response.content == data[start:end]
    assert response.headers["content-range"] == f"bytes {start}-{end - 1}/{len(data)}"


def test_unsatisfiable_range_is_416(client: TestClient[Litestar], as_user: DevTokens) -> None:
    doc = upload(client, as_user("alice"), b"short")
    response = client.get(f"{DOCS}/{doc['id']}/content", headers={**as_user("alice"), "Range": "bytes=10-20"})
    assert response.status_code == 416
    assert response.headers["content-range"] == "bytes */5"
    assert response.headers["content-type"] == "application/problem+json"


def test_empty_document_round_trips(client: TestClient[Litestar], as_user: DevTokens) -> None:
    doc = upload(client, as_user("alice"), b"")
    assert doc["size"] == 0
    response = client.get(f"{DOCS}/{doc['id']}/content", headers=as_user("alice"))
    assert response.status_code == 200
    assert response.content == b""


def test_multipart_upload_streams_the_file_part(client: TestClient[Litestar], as_user: DevTokens) -> None:
    data = b"%PDF-1.7\n" + os.urandom(200_000)
    response = client.post(
        DOCS,
        headers=as_user("alice"),
        data={"title": "Diploma", "kind": "diploma"},
        files={"file": ("../../etc/diploma.pdf", data, "application/pdf")},
    )
    assert response.status_code == 201, response.text
    doc = response.json()
    assert (doc["title"], doc["kind"], doc["media_type"]) == ("Diploma", "diploma", "application/pdf")
    assert client.get(f"{DOCS}/{doc['id']}/content", headers=as_user("alice")).content == data


def test_multipart_title_defaults_to_the_file_name_without_its_path(
    client: TestClient[Litestar], as_user: DevTokens
) -> None:
    response = client.post(
        DOCS, headers=as_user("alice"), files={"file": ("../../etc/passwd.txt", b"hello", "text/plain")}
    )
    assert response.status_code == 201, response.text
    assert response.json()["title"] == "passwd.txt"


def test_versions_keep_every_revision(client: TestClient[Litestar], as_user: DevTokens) -> None:
    first, second = os.urandom(70_000), os.urandom(1_000)
    doc = upload(client, as_user("alice"), first)
    response = client.post(
        f"{DOCS}/{doc['id']}/versions",
        content=second,
        headers={**as_user("alice"), "Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["version"] == 2
    versions = client.get(f"{DOCS}/{doc['id']}/versions", headers=as_user("alice")).json()
    assert [v["number"] for v in versions] == [1, 2]
    latest = client.get(f"{DOCS}/{doc['id']}/content", headers=as_user("alice"))
    assert latest.content == second
    assert latest.headers["x-document-version"] == "2"
    old = client.get(f"{DOCS}/{doc['id']}/content?version=1", headers=as_user("alice"))
    assert old.content == first
    assert client.get(f"{DOCS}/{doc['id']}/content?version=3", headers=as_user("alice")).status_code == 404


def test_erase_removes_rows_and_objects(client: TestClient[Litestar], as_user: DevTokens, settings) -> None:
    doc = upload(client, as_user("alice"), os.urandom(10_000))
    objects = settings.resolved_data_dir / "objects"
    assert any(p.is_file() for p in objects.rglob("*"))
    assert client.delete(f"{DOCS}/{doc['id']}", headers=as_user("alice")).status_code == 204
    assert client.get(f"{DOCS}/{doc['id']}", headers=as_user("alice")).status_code == 404
    assert client.get(f"{DOCS}/{doc['id']}/content", headers=as_user("alice")).status_code == 404
    assert not any(p.is_file() for p in objects.rglob("*"))


def test_listing_paginates_newest_first(client: TestClient[Litestar], as_user: DevTokens) -> None:
    ids = [upload(client, as_user("alice"), f"doc {i}".encode(), title=f"doc {i}")["id"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(DOCS, headers=as_user("alice"), params=params).json()
        seen += [d["id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    bad = client.get(DOCS, headers=as_user("alice"), params={"cursor": "!!!"})
    assert bad.status_code == 400
    assert bad.headers["content-type"] == "application/problem+json"
