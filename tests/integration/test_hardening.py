"""What an attacker and a new user found (issue "Hardening"): each attack or mistake, reproduced, and the fix."""

from __future__ import annotations

import concurrent.futures
import os
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.support.api import DOCS, DevTokens, assert_problem, later, make_link, share, subject, upload
from tests.support.vault_app import bearer, make_settings, running_server
from vault.app import services_of
from vault.settings import ConfigurationError, Settings


def test_a_range_header_of_thousands_of_digits_is_ignored_not_a_500(
    client: TestClient[Litestar], as_user: DevTokens
) -> None:
    doc = upload(client, as_user("alice"), b"0123456789")
    response = client.get(f"{DOCS}/{doc['id']}/content", headers={**as_user("alice"), "Range": "bytes=" + "9" * 4400})
    assert response.status_code == 200
    assert response.content == b"0123456789"


def test_an_empty_suffix_range_is_416(client: TestClient[Litestar], as_user: DevTokens) -> None:
    doc = upload(client, as_user("alice"), b"0123456789")
    response = client.get(f"{DOCS}/{doc['id']}/content", headers={**as_user("alice"), "Range": "bytes=-0"})
    assert_problem(response, 416)
    assert response.headers["content-range"] == "bytes */10"


def test_a_range_of_another_citizens_document_is_404_whatever_the_header(
    client: TestClient[Litestar], as_user: DevTokens
) -> None:
    doc = upload(client, as_user("alice"), b"secret")
    for header in ("bytes=" + "1" * 5000, "bytes=-0", "bytes=0-1"):
        assert_problem(client.get(f"{DOCS}/{doc['id']}/content", headers={**as_user("bob"), "Range": header}), 404)


def test_concurrent_new_versions_are_one_success_and_409s(tmp_path: Path, database_url: str) -> None:
    with running_server(make_settings(tmp_path, database_url)) as live:
        headers = bearer(services_of(live.app).dev_idp.issue_access_token("alice"))  # type: ignore[union-attr]
        with live.client() as http:
            created = http.post(
                DOCS, content=b"v1", headers={**headers, "Content-Type": "text/plain", "X-Document-Title": "race"}
            )
            doc_id = created.json()["id"]

            def new_version(i: int) -> int:
                with live.client() as racer:
                    body = f"version from racer {i}".encode() * 1000
                    response = racer.post(
                        f"{DOCS}/{doc_id}/versions", content=body, headers={**headers, "Content-Type": "text/plain"}
                    )
                    assert response.status_code in {201, 409}, response.text
                    return response.status_code

            with concurrent.futures.ThreadPoolExecutor(6) as pool:
                statuses = list(pool.map(new_version, range(6)))
            versions = http.get(f"{DOCS}/{doc_id}/versions", headers=headers).json()
    assert 500 not in statuses
    assert statuses.count(201) == len(versions) - 1  # every 201 is a stored version, every 409 stored nothing
    assert [v["number"] for v in versions] == list(range(1, len(versions) + 1))


def test_wrong_link_passwords_hit_a_limit_held_in_the_database(
    client: TestClient[Litestar], as_user: DevTokens
) -> None:
    doc = upload(client, as_user("alice"), b"guarded")
    token = make_link(client, as_user("alice"), doc["id"], password="correct horse battery", max_downloads=3)["token"]
    statuses = [client.post(f"/s/{token}", data={"password": f"guess {i}"}).status_code for i in range(10)]
    assert statuses == [403] * 10
    locked = client.post(f"/s/{token}", data={"password": "correct horse battery"})
    assert_problem(locked, 429)  # even the right password, once the limit is reached


def test_the_directory_finds_people_and_agencies_by_handle(client: TestClient[Litestar], as_user: DevTokens) -> None:
    found = client.get("/api/v1/directory", params={"q": "bo"}, headers=as_user("alice")).json()["items"]
    assert {"type": "person", "handle": "bob", "name": "Bob Citizen"} in found
    agencies = client.get("/api/v1/directory", params={"q": "tax"}, headers=as_user("alice")).json()["items"]
    assert {"type": "agency", "handle": "tax-office", "name": None} in agencies
    assert_problem(client.get("/api/v1/directory", params={"q": "b"}, headers=as_user("alice")), 400)


def test_sharing_resolves_recipients_and_refuses_unknown_ones(client: TestClient[Litestar], as_user: DevTokens) -> None:
    doc = upload(client, as_user("alice"), b"x")
    by_handle = share(client, as_user("alice"), doc["id"], subject="bob")
    assert by_handle["grantee"] == subject("bob")  # stored by subject, found by handle
    for body in ({"subject": "nobody-ever"}, {"agency": "ministry-of-silly-walks"}):
        response = client.post(
            f"{DOCS}/{doc['id']}/grants",
            json={**body, "permissions": ["view"], "expires_at": later(days=1)},
            headers=as_user("alice"),
        )
        assert_problem(response, 422)
    request = {"citizen": "nobody-ever", "kinds": ["diploma"], "purpose": "p", "legal_basis": "b"}
    response = client.post("/api/v1/requests", json={**request, "expires_at": later(days=1)}, headers=as_user("olga"))
    assert_problem(response, 422)


def test_security_headers_on_api_error_and_docs_responses(client: TestClient[Litestar], as_user: DevTokens) -> None:
    for response in (
        client.get("/api/v1/me", headers=as_user("alice")),
        client.get("/api/v1/me"),
        client.get("/schema/swagger"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    page = client.get("/schema/swagger").text
    assert "https://" not in page  # no CDN: every asset of the docs UI is served by the app
    assert client.get("/schema/assets/swagger-ui-bundle.js").status_code == 200


def test_utf8_titles_and_file_names_round_trip(client: TestClient[Litestar], as_user: DevTokens) -> None:
    raw = client.post(
        DOCS,
        content=b"x",
        headers={
            **as_user("alice"),
            "Content-Type": "application/pdf",
            "X-Document-Title*": "UTF-8''Z%C3%A9ro%20d%C3%A9chet%20%E2%80%94%20dipl%C3%B4me",
        },
    )
    assert raw.status_code == 415  # not a PDF: the magic bytes are checked
    created = client.post(
        DOCS,
        content=b"%PDF-1.7\nx",
        headers={
            **as_user("alice"),
            "Content-Type": "application/pdf",
            "X-Document-Title*": "UTF-8''Z%C3%A9ro%20d%C3%A9chet%20%E2%80%94%20dipl%C3%B4me",
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["title"] == "Zéro déchet — diplôme"
    assert created.headers["location"] == f"{DOCS}/{created.json()['id']}"
    download = client.get(f"{DOCS}/{created.json()['id']}/content", headers=as_user("alice"))
    assert (
        "filename*=UTF-8''Z%C3%A9ro%20d%C3%A9chet%20%E2%80%94%20dipl%C3%B4me.pdf"
        in download.headers["content-disposition"]
    )  # no file name was given: the extension comes from the media type
    named = client.post(
        DOCS,
        files={"file": ("Scan 2026.tiff", b"II*\x00rest", "image/tiff")},
        headers=as_user("alice"),
    ).json()
    assert named["filename"] == "Scan 2026.tiff"
    again = client.get(f"{DOCS}/{named['id']}/content", headers=as_user("alice"))
    assert 'filename="Scan 2026.tiff"' in again.headers["content-disposition"]


def test_patch_changes_title_and_kind(client: TestClient[Litestar], as_user: DevTokens) -> None:
    doc = upload(client, as_user("alice"), b"x", kind="other")
    changed = client.patch(
        f"{DOCS}/{doc['id']}", json={"title": "Diploma", "kind": "diploma"}, headers=as_user("alice")
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["title"], changed.json()["kind"]) == ("Diploma", "diploma")
    assert_problem(client.patch(f"{DOCS}/{doc['id']}", json={"title": "x"}, headers=as_user("bob")), 404)
    assert_problem(client.patch(f"{DOCS}/{doc['id']}", json={"owner": "x"}, headers=as_user("alice")), 422)


def test_if_none_match_answers_304_and_unknown_filters_400(client: TestClient[Litestar], as_user: DevTokens) -> None:
    doc = upload(client, as_user("alice"), os.urandom(1000))
    etag = f'"{doc["sha256"]}"'
    cached = client.get(f"{DOCS}/{doc['id']}/content", headers={**as_user("alice"), "If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.content == b""
    fresh = client.get(f"{DOCS}/{doc['id']}/content", headers={**as_user("alice"), "If-None-Match": '"other"'})
    assert fresh.status_code == 200
    assert fresh.headers["etag"] == etag
    body = assert_problem(client.get(DOCS, params={"kind": "diploma"}, headers=as_user("alice")), 400)
    assert "kind" in body["detail"]


def test_hostile_access_log_cursors_are_400(client: TestClient[Litestar], as_user: DevTokens) -> None:
    for cursor in ("36893488147419103231", "-1", "x" * 5000):
        assert_problem(client.get("/api/v1/me/access-log", params={"cursor": cursor}, headers=as_user("alice")), 400)


def test_an_empty_body_names_the_missing_fields(client: TestClient[Litestar], as_user: DevTokens) -> None:
    doc = upload(client, as_user("alice"), b"x")
    body = assert_problem(client.post(f"{DOCS}/{doc['id']}/links", headers=as_user("alice")), 422)
    assert body["detail"] == "a JSON body is required with the fields expires_at"
    approve = assert_problem(
        client.post(f"/api/v1/requests/{doc['id']}/approve", headers=as_user("alice")), 422
    )  # the body is checked before the request is looked up
    assert "documents" in approve["detail"]


def test_a_missing_object_is_an_integrity_failure_502_not_an_outage(
    client: TestClient[Litestar], as_user: DevTokens, settings: Settings
) -> None:
    doc = upload(client, as_user("alice"), b"soon gone")
    for path in (settings.resolved_data_dir / "objects").rglob("*"):
        if path.is_file():
            path.unlink()
    body = assert_problem(client.get(f"{DOCS}/{doc['id']}/content", headers=as_user("alice")), 502)
    assert body["type"].endswith("/integrity-failure")


def test_b_t_without_a_timestamp_authority_is_a_409_not_a_retryable_503() -> None:
    """Only a deployment configured without a TSA meets this (the embedded defaults have the development PKI's):
    the service refuses before it reads anything, as a configuration conflict, never silently downgraded."""
    import asyncio
    import uuid

    from vault.core.errors import Conflict
    from vault.core.principal import Caller
    from vault.signatures.schemas import SignOptions
    from vault.signatures.service import SignatureService

    nothing: Any = None  # every dependency: the refusal must come before any of them is used
    service = SignatureService(
        nothing, nothing, identity=object(), seals=nothing, db=nothing, trail=nothing, timestamping=False
    )
    officer = Caller("olga", "https://id.example", frozenset({"agency"}), agency="tax-office")
    citizen = Caller("alice", "https://id.example", frozenset({"citizen"}), name="Alice")
    for caller, level in ((officer, "B-T"), (citizen, "B-B")):
        with pytest.raises(Conflict, match="VAULT_TSA_URL"):
            asyncio.run(service.sign(caller, uuid.uuid4(), SignOptions(level=level)))  # type: ignore[arg-type]
    assert service.default_level == "B-B"


def test_a_world_readable_data_directory_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "var"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    with pytest.raises(ConfigurationError, match="chmod 700"):
        make_settings(tmp_path).prepare_data_dir()
    data.chmod(0o700)
    assert make_settings(tmp_path).prepare_data_dir() == data.resolve()


def test_files_the_service_creates_are_private(
    client: TestClient[Litestar], as_user: DevTokens, settings: Settings
) -> None:
    upload(client, as_user("alice"), b"x")
    data_dir = settings.resolved_data_dir
    assert data_dir.stat().st_mode & 0o777 == 0o700
    for path in data_dir.rglob("*"):
        mode = path.stat().st_mode & 0o777
        assert mode & 0o077 == 0, f"{path} is {mode:o}"
    if settings.resolved_database_url.startswith("sqlite"):
        database = Path(settings.resolved_database_url.split(":///", 1)[1])
        assert database.stat().st_mode & 0o077 == 0


def test_kinds_come_from_the_configured_vocabulary(client: TestClient[Litestar], as_user: DevTokens) -> None:
    response = client.post(
        DOCS,
        content=b"x",
        headers={**as_user("alice"), "Content-Type": "text/plain", "X-Document-Title": "t", "X-Document-Kind": "BC!"},
    )
    assert_problem(response, 422)
    odd = client.post(
        DOCS,
        content=b"x",
        headers={**as_user("alice"), "Content-Type": "text/plain", "X-Document-Title": "t", "X-Document-Kind": "memes"},
    )
    assert "diploma" in assert_problem(odd, 422)["detail"]  # the vocabulary is listed
    raw = upload(client, as_user("alice"), b"x", kind="other")
    assert raw["kind"] == "other"
    patched = client.patch(f"{DOCS}/{raw['id']}", json={"kind": "memes"}, headers=as_user("alice"))
    assert_problem(patched, 422)


def test_a_grantee_allowed_only_to_sign_learns_no_metadata_from_signing(
    client: TestClient[Litestar], as_user: DevTokens
) -> None:
    pdf = (Path(__file__).resolve().parents[1] / "data" / "pdf" / "minimal.pdf").read_bytes()
    doc = upload(client, as_user("alice"), pdf, title="Secret title", media_type="application/pdf")
    share(client, as_user("alice"), doc["id"], agency="tax-office", permissions=["sign"])
    assert_problem(client.get(f"{DOCS}/{doc['id']}", headers=as_user("olga")), 404)  # no view permission
    signed = client.post(f"{DOCS}/{doc['id']}/signatures", json={"level": "B-B"}, headers=as_user("olga"))
    assert signed.status_code == 201, signed.text
    assert set(signed.json()) == {"document_id", "version", "size", "sha256"}
    assert "Secret title" not in signed.text


def test_openapi_documents_raw_bodies_and_readable_operation_ids(client: TestClient[Litestar]) -> None:
    schema = client.get("/schema/openapi.json").json()
    upload_op = schema["paths"]["/api/v1/documents"]["post"]
    assert upload_op["operationId"] == "documents.upload"
    assert {"application/octet-stream", "multipart/form-data"} <= set(upload_op["requestBody"]["content"])
    assert "application/pdf" in schema["paths"]["/api/v1/verify"]["post"]["requestBody"]["content"]
    ids = [op["operationId"] for item in schema["paths"].values() for op in item.values() if isinstance(op, dict)]
    assert len(ids) == len(set(ids))
    assert all(not operation_id.startswith("Api") for operation_id in ids)
