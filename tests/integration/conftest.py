"""Integration fixtures: the same tests on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.support.vault_app import make_settings, vault_client
from vault.app import services_of
from vault.settings import Settings


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient[Litestar]]:
    with vault_client(settings) as test:
        yield test


class DevTokens:
    """Access tokens from the built-in development provider, by demo user name."""

    def __init__(self, app: Litestar) -> None:
        self._provider = services_of(app).dev_idp

    def __call__(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._provider.issue_access_token(user)}"}


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
