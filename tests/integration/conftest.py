"""Integration fixtures: the same tests on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.support.vault_app import make_settings, vault_client
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
        self._provider = app.state.dev_idp

    def __call__(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._provider.issue_access_token(user)}"}


@pytest.fixture
def as_user(client: TestClient[Litestar]) -> DevTokens:
    return DevTokens(client.app)
