"""Backing services failing under the vault: the object store killed mid-upload or down at download, the database
unreachable. Always a clear 503 problem, never a half-written document or a byte served unchecked."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

import storage
from tests.services._proc import free_port
from tests.services.seaweedfs import S3Server
from tests.support.api import DOCS, DevTokens, assert_problem, upload
from tests.support.vault_app import make_settings, run_in_app, vault_client
from vault.app import services_of

MiB = 1024 * 1024


@pytest.fixture
def s3_client(tmp_path: Path, throwaway_s3_server: S3Server) -> Iterator[TestClient[Litestar]]:
    settings = make_settings(tmp_path, storage_url=throwaway_s3_server.url("vault-faults"))
    with vault_client(settings) as client:
        yield client


def _count_documents(client: TestClient[Litestar]) -> int:
    from sqlalchemy import func, select

    from vault.documents.models import Document, DocumentVersion

    async def count() -> int:
        async with services_of(client.app).db.sessions() as session:
            documents = await session.scalar(select(func.count()).select_from(Document))
            versions = await session.scalar(select(func.count()).select_from(DocumentVersion))
            return int(documents or 0) + int(versions or 0)

    return run_in_app(client, count)


def test_store_killed_mid_upload_is_503_with_no_row_and_no_parts_after_sweep(
    s3_client: TestClient[Litestar], throwaway_s3_server: S3Server
) -> None:
    tokens = DevTokens(s3_client.app)
    upload(s3_client, tokens("alice"), b"warm-up so the bucket exists")

    def body() -> Iterator[bytes]:
        for i in range(40):  # 40 MiB: several multipart parts
            if i == 20:
                throwaway_s3_server.stop()
            yield os.urandom(MiB)

    response = s3_client.post(
        DOCS,
        content=body(),
        headers={**tokens("alice"), "Content-Type": "application/octet-stream", "X-Document-Title": "big"},
    )
    assert_problem(response, 503)
    assert _count_documents(s3_client) == 2  # the warm-up document and its version only
    listing = s3_client.get(DOCS, headers=tokens("alice"))
    assert [d["title"] for d in listing.json()["items"]] == ["Birth certificate"]

    throwaway_s3_server.start()
    store: storage.S3Store = services_of(s3_client.app).store

    async def sweep() -> list[str]:
        await store.sweep_incomplete(older_than=0)
        return await store.incomplete_uploads()

    assert run_in_app(s3_client, sweep) == []


def test_store_down_at_download_is_503_and_serves_nothing(
    s3_client: TestClient[Litestar], throwaway_s3_server: S3Server
) -> None:
    tokens = DevTokens(s3_client.app)
    data = os.urandom(3 * MiB)
    doc = upload(s3_client, tokens("alice"), data)
    throwaway_s3_server.stop()
    response = s3_client.get(f"{DOCS}/{doc['id']}/content", headers=tokens("alice"))
    assert_problem(response, 503)
    assert data[:1000] not in response.content
    ready = s3_client.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"]["object_store"] == "unavailable"
    throwaway_s3_server.start()
    assert s3_client.get(f"{DOCS}/{doc['id']}/content", headers=tokens("alice")).content == data


def test_database_unreachable_is_503_and_not_ready(tmp_path: Path) -> None:
    dead = f"postgresql+asyncpg://nobody@127.0.0.1:{free_port()}/nothing"
    settings = make_settings(tmp_path, database_url=dead)
    from vault.app import create_app

    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        tokens = DevTokens(app)
        assert client.get("/health").status_code == 200
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"] == "unavailable"
        response = client.post(
            DOCS, content=b"x", headers={**tokens("alice"), "Content-Type": "text/plain", "X-Document-Title": "t"}
        )
        assert_problem(response, 503)
        assert_problem(client.get(DOCS, headers=tokens("alice")), 503)


def test_ready_reports_every_dependency(client: TestClient[Litestar]) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "object_store": "ok", "key_provider": "ok"},
    }
