"""PostgreSQL: the server on 127.0.0.1:5432 (started by scripts/test when missing); fresh databases for tests, and
the `database_url` fixture that runs a test once on SQLite and once on PostgreSQL."""

from __future__ import annotations

import getpass
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_HOST = os.environ.get("VAULT_TEST_PG_HOST", "127.0.0.1")
PG_PORT = os.environ.get("VAULT_TEST_PG_PORT", "5432")
PG_ADMIN_DB = os.environ.get("VAULT_TEST_PG_DB", "test")


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-h", PG_HOST, "-p", PG_PORT, "-d", PG_ADMIN_DB, "-v", "ON_ERROR_STOP=1", "-qc", sql],
        check=True,
        capture_output=True,
    )


def create_database() -> str:
    """Create an empty database and return its name."""
    name = f"vault_test_{secrets.token_hex(4)}"
    _psql(f'CREATE DATABASE "{name}"')
    return name


def drop_database(name: str) -> None:
    _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_url(name: str) -> str:
    user = os.environ.get("USER") or getpass.getuser()
    return f"postgresql+asyncpg://{user}@{PG_HOST}:{PG_PORT}/{name}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL of a fresh PostgreSQL database, dropped at the end of the session."""
    try:
        name = create_database()
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        pytest.fail(f"PostgreSQL is not reachable on {PG_HOST}:{PG_PORT}: {detail.decode(errors='replace')}")
    yield database_url(name)
    drop_database(name)


@pytest.fixture(params=["sqlite", "postgres"], name="database_url")
def database_url_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each back end."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'vault.core.base'}"
        return
    request.getfixturevalue("postgres_url")  # fails loudly when PostgreSQL is unreachable
    name = create_database()
    try:
        yield database_url(name)
    finally:
        drop_database(name)
