"""The engine's connection handling on the real back ends: a pooled PostgreSQL connection that died while idle is
replaced at checkout (no per-checkout pre-ping), and SQLite transactions that only read skip their COMMIT while
those that write still commit."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

import vault.core.database
from vault.core.database import Database, create_engine


async def _backend_pid(db: Database) -> int:
    async with db.transaction() as session:
        return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_postgres_connection_killed_while_idle_is_replaced_at_checkout(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vault.core.database, "_PING_AFTER", 0.0)  # every returned connection counts as idle
    db = Database(create_engine(postgres_url, pool_size=1))
    killer = Database(create_engine(postgres_url, pool_size=1))
    try:
        first = await _backend_pid(db)
        async with killer.transaction() as session:
            assert (await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})).scalar_one()
        second = await _backend_pid(db)  # the ping failed, the pool opened a new connection: no error
        assert second != first
        assert await _backend_pid(db) == second  # and keeps it
    finally:
        await db.dispose()
        await killer.dispose()


@pytest.mark.parametrize(("ping_after", "pinged"), [(3600.0, False), (0.0, True)])
async def test_postgres_connection_is_pinged_only_after_sitting_idle(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, ping_after: float, pinged: bool
) -> None:
    monkeypatch.setattr(vault.core.database, "_PING_AFTER", ping_after)
    db = Database(create_engine(postgres_url, pool_size=1))
    statements: list[str] = []
    try:
        async with db.transaction() as session:
            dbapi = (await (await session.connection()).get_raw_connection()).driver_connection
            assert dbapi is not None
            dbapi.add_query_logger(lambda record: statements.append(record.query))
        await _backend_pid(db)  # the same connection, checked out again
        assert "BEGIN;" in statements  # the logger sees the transaction statements (not prepared ones)
        assert ("ROLLBACK;" in statements) is pinged  # asyncpg's ping: BEGIN, an empty statement, ROLLBACK
    finally:
        await db.dispose()


async def test_sqlite_read_only_transaction_leaves_nothing_open_and_writes_commit(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/db.sqlite"
    db = Database(create_engine(url, pool_size=1))
    other = Database(create_engine(url, pool_size=1))
    try:
        async with db.transaction() as session:
            await session.execute(text("CREATE TABLE t (a INTEGER)"))
            await session.execute(text("INSERT INTO t VALUES (1)"))
        async with db.transaction() as session:
            assert (await session.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1
            raw = (await (await session.connection()).get_raw_connection()).driver_connection
            assert raw is not None
            assert not raw.in_transaction  # a read began no transaction: its COMMIT is skipped
        async with db.transaction() as session:
            await session.execute(text("SELECT a FROM t"))
            await session.execute(text("INSERT INTO t VALUES (2)"))  # a write after a read commits
        async with other.transaction() as session:
            assert (await session.execute(text("SELECT count(*) FROM t"))).scalar_one() == 2
    finally:
        await db.dispose()
        await other.dispose()
