"""Bad input, other people's documents, tampering and missing credentials: clear 4xx/5xx problems, nothing lost."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.support.api import DOCS, DevTokens, assert_problem, upload
from tests.support.vault_app import make_settings, run_in_app, vault_client
from vault.app import services_of
from vault.settings import Settings

PROBLEM = "application/problem+json"


def document_routes(doc_id: str) -> list[tuple[str, str]]:
    return [
        ("GET", f"{DOCS}/{doc_id}"),
        ("GET", f"{DOCS}/{doc_id}/content"),
        ("GET", f"{DOCS}/{doc_id}/versions"),
        ("POST", f"{DOCS}/{doc_id}/versions"),
        ("DELETE", f"{DOCS}/{doc_id}"),
    ]


def test_another_citizen_gets_404_on_every_document_route(client: TestClient[Litestar], as_user: DevTokens) -> None:
    doc = upload(client, as_user("alice"), b"alice's secret")
    for method, path in document_routes(doc["id"]):
        response = client.request(
            method, path, headers={**as_user("bob"), "Content-Type": "text/plain"}, content=b"bob's bytes"
        )
        assert_problem(response, 404)
    # and alice's document is untouched
    assert client.get(f"{DOCS}/{doc['id']}/content", headers=as_user("alice")).content == b"alice's secret"
    assert client.get(f"{DOCS}/{doc['id']}", headers=as_user("alice")).json()["version"] == 1
    assert client.get(DOCS, headers=as_user("bob")).json()["items"] == []


def test_unknown_and_malformed_ids_are_404(client: TestClient[Litestar], as_user: DevTokens) -> None:
    assert_problem(client.get(f"{DOCS}/{'0' * 8}-0000-4000-8000-{'0' * 12}", headers=as_user("alice")), 404)
    assert_problem(client.get(f"{DOCS}/not-a-uuid", headers=as_user("alice")), 404)
    assert_problem(client.get(f"{DOCS}/..%2F..%2Fetc%2Fpasswd/content", headers=as_user("alice")), 404)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic YWxpY2U6cGFzcw=="},
        {"Authorization": "Bearer not.a.jwt"},
        {"Authorization": "Bearer " + "a" * 20000},
    ],
    ids=["missing", "empty", "basic", "garbage", "oversized"],
)
def test_missing_or_invalid_tokens_are_401_with_a_bearer_challenge(
    client: TestClient[Litestar], headers: dict[str, str]
) -> None:
    response = client.get(DOCS, headers=headers)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_wrong_role_is_403(client: TestClient[Litestar], as_user: DevTokens) -> None:
    assert_problem(client.get(DOCS, headers=as_user("audrey")), 403)
    response = client.post(
        DOCS, content=b"x", headers={**as_user("olga"), "Content-Type": "text/plain", "X-Document-Title": "t"}
    )
    assert_problem(response, 403)


@pytest.mark.parametrize(
    ("media_type", "body"),
    [
        ("text/html", b"<script>alert(1)</script>"),
        ("image/svg+xml", b"<svg/>"),
        ("", b"no type"),
        ("application/pdf", b"MZ\x90\x00 this is an executable, not a PDF" + b"\x00" * 2000),
        ("image/png", b"GIF89a"),
    ],
)
def test_unsupported_or_mismatched_media_types_are_415(
    client: TestClient[Litestar], as_user: DevTokens, media_type: str, body: bytes
) -> None:
    headers = {**as_user("alice"), "X-Document-Title": "t"}
    if media_type:
        headers["Content-Type"] = media_type
    assert_problem(client.post(DOCS, content=body, headers=headers), 415)
    assert client.get(DOCS, headers=as_user("alice")).json()["items"] == []


def test_missing_title_is_400(client: TestClient[Litestar], as_user: DevTokens) -> None:
    response = client.post(DOCS, content=b"x", headers={**as_user("alice"), "Content-Type": "text/plain"})
    assert_problem(response, 400)


@pytest.mark.parametrize(
    "body",
    [
        b'--b\r\nContent-Disposition: form-data; name="title"\r\n\r\nx\r\n--b--\r\n',  # no file part
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nabc',
        b"this is not multipart at all",
    ],
    ids=["no-file", "truncated", "garbage"],
)
def test_malformed_multipart_is_400(client: TestClient[Litestar], as_user: DevTokens, body: bytes) -> None:
    headers = {**as_user("alice"), "Content-Type": "multipart/form-data; boundary=b"}
    assert_problem(client.post(DOCS, content=body, headers=headers), 400)
    assert client.get(DOCS, headers=as_user("alice")).json()["items"] == []


@pytest.fixture
def small_limit_client(tmp_path: Path) -> Iterator[tuple[TestClient[Litestar], Settings]]:
    settings = make_settings(tmp_path, max_upload_bytes=100_000)
    with vault_client(settings) as client:
        yield client, settings


def _object_files(settings: Settings) -> list[Path]:
    return [p for p in (settings.resolved_data_dir / "objects").rglob("*") if p.is_file()]


def test_oversized_upload_with_content_length_is_413_before_reading(
    small_limit_client: tuple[TestClient[Litestar], Settings],
) -> None:
    client, settings = small_limit_client
    tokens = DevTokens(client.app)
    response = client.post(
        DOCS,
        content=os.urandom(100_001),
        headers={**tokens("alice"), "Content-Type": "text/plain", "X-Document-Title": "t"},
    )
    assert_problem(response, 413)
    assert client.get(DOCS, headers=tokens("alice")).json()["items"] == []
    assert _object_files(settings) == []


def test_oversized_chunked_upload_is_413_and_leaves_nothing(
    small_limit_client: tuple[TestClient[Litestar], Settings],
) -> None:
    client, settings = small_limit_client
    tokens = DevTokens(client.app)

    def chunks() -> Iterator[bytes]:
        for _ in range(30):
            yield os.urandom(10_000)

    response = client.post(
        DOCS,
        content=chunks(),
        headers={**tokens("alice"), "Content-Type": "application/octet-stream", "X-Document-Title": "t"},
    )
    assert_problem(response, 413)
    assert client.get(DOCS, headers=tokens("alice")).json()["items"] == []
    assert _object_files(settings) == []


def test_upload_at_exactly_the_limit_is_accepted(small_limit_client: tuple[TestClient[Litestar], Settings]) -> None:
    client, _ = small_limit_client
    tokens = DevTokens(client.app)
    data = os.urandom(100_000)
    doc = upload(client, tokens("alice"), data)
    assert client.get(f"{DOCS}/{doc['id']}/content", headers=tokens("alice")).content == data


def _object_path(settings: Settings, doc_id: str) -> Path:
    matches = [p for p in _object_files(settings) if doc_id in str(p)]
    assert len(matches) == 1
    return matches[0]


def _flip_bit(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "tamper",
    ["flip-header", "flip-first-chunk", "flip-last-chunk", "truncate", "append", "swap"],
)
def test_tampered_objects_never_serve_wrong_bytes(
    client: TestClient[Litestar], as_user: DevTokens, settings: Settings, tamper: str
) -> None:
    data = os.urandom(200_000)
    doc = upload(client, as_user("alice"), data)
    other = upload(client, as_user("alice"), os.urandom(200_000))
    path = _object_path(settings, doc["id"])
    size = path.stat().st_size
    if tamper == "flip-header":
        _flip_bit(path, 40)
    elif tamper == "flip-first-chunk":
        _flip_bit(path, 100)
    elif tamper == "flip-last-chunk":
        _flip_bit(path, size - 5)
    elif tamper == "truncate":
        path.write_bytes(path.read_bytes()[: size - 70_000])
    elif tamper == "append":
        path.write_bytes(path.read_bytes() + b"\x00" * 16)
    else:
        other_path = _object_path(settings, other["id"])
        a, b = path.read_bytes(), other_path.read_bytes()
        path.write_bytes(b)
        other_path.write_bytes(a)

    received, cut = b"", None
    with client.stream("GET", f"{DOCS}/{doc['id']}/content", headers=as_user("alice")) as response:
        if response.status_code != 200:
            response.read()
            assert_problem(response, 502)  # found before the status line: nothing served
            return
        try:
            for piece in response.iter_bytes():
                received += piece
        except Exception as exc:  # the failure surfaced mid-stream and the server cut the body
            cut = exc
    # a 200 can only be a strict, verified prefix of the original, cut short: never wrong bytes, never all
    assert cut is not None or len(received) < len(data)
    assert len(received) < len(data)
    assert data.startswith(received)


def test_ranged_read_of_an_untouched_chunk_still_works_after_tampering_elsewhere(
    client: TestClient[Litestar], as_user: DevTokens, settings: Settings
) -> None:
    data = os.urandom(200_000)
    doc = upload(client, as_user("alice"), data)
    path = _object_path(settings, doc["id"])
    _flip_bit(path, path.stat().st_size - 5)  # last chunk
    first = client.get(f"{DOCS}/{doc['id']}/content", headers={**as_user("alice"), "Range": "bytes=0-99"})
    assert first.status_code == 206
    assert first.content == data[:100]
    last = client.get(f"{DOCS}/{doc['id']}/content", headers={**as_user("alice"), "Range": "bytes=-100"})
    assert_problem(last, 502)


def test_integrity_failures_are_audited(client: TestClient[Litestar], as_user: DevTokens, settings: Settings) -> None:
    doc = upload(client, as_user("alice"), os.urandom(1000))
    _flip_bit(_object_path(settings, doc["id"]), 100)
    assert_problem(client.get(f"{DOCS}/{doc['id']}/content", headers=as_user("alice")), 502)
    actions = _audit_actions(client)
    assert "document.integrity_failure" in actions


def _audit_actions(client: TestClient[Litestar]) -> list[str]:
    from sqlalchemy import select

    from vault.audit.models import AuditEntryRow

    async def read() -> list[str]:
        await services_of(client.app).events.integrator.settle()  # what was queued so far gets its place
        async with services_of(client.app).db.sessions() as session:
            return list((await session.scalars(select(AuditEntryRow.action).order_by(AuditEntryRow.seq))).all())

    return run_in_app(client, read)
