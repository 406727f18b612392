"""System-test fixtures: a fresh PostgreSQL database per test, and looks into what a deployment left behind."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator

import pytest

import storage
from tests.services import postgres


@pytest.fixture
def database() -> Iterator[str]:
    """The SQLAlchemy URL of a fresh PostgreSQL database, dropped after the test."""
    name = postgres.create_database()
    try:
        yield postgres.database_url(name)
    finally:
        postgres.drop_database(name)


def sql(database_url: str, query: str) -> str:
    """One value from PostgreSQL (psql, outside any instance)."""
    name = database_url.rsplit("/", 1)[1]
    result = subprocess.run(
        ["psql", "-h", postgres.PG_HOST, "-p", postgres.PG_PORT, "-d", name, "-tAc", query],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def store_contents(storage_url: str) -> tuple[list[str], list[str]]:
    """(object keys, incomplete multipart uploads) in the deployment's bucket, read with the storage library."""

    async def look() -> tuple[list[str], list[str]]:
        store = storage.store_from_url(storage_url)
        try:
            keys = [info.key async for info in store.list_objects("")]
            return keys, await store.incomplete_uploads()
        finally:
            await store.close()

    return asyncio.run(look())
