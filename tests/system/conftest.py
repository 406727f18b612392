"""System-test fixtures: a fresh PostgreSQL database per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.services import postgres


@pytest.fixture
def database() -> Iterator[str]:
    """The SQLAlchemy URL of a fresh PostgreSQL database, dropped after the test."""
    name = postgres.create_database()
    try:
        yield postgres.database_url(name)
    finally:
        postgres.drop_database(name)
