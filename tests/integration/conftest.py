"""Integration fixtures: the same tests on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.support.api import DevTokens
from tests.support.vault_app import make_settings, vault_client
from vault.settings import Settings


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient[Litestar]]:
    with vault_client(settings) as test:
        yield test


@pytest.fixture
def as_user(client: TestClient[Litestar]) -> DevTokens:
    return DevTokens(client.app)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the test database with the audit tables freshly created (audit log tests)."""
    from tests.integration.test_audit_support import fresh_engine

    async with fresh_engine(database_url) as engine:
        yield engine


@pytest.fixture
def factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
