"""The SQLite driver adapter: SQLAlchemy's aiosqlite semantics, one thread hop per statement."""

from __future__ import annotations

from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import exc, text

from vault.core.database import create_engine
from vault.core.sqlite_driver import OneHopCursor


async def test_statements_rows_counts_and_errors_as_sqlalchemy_gives_them(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", pool_size=2)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
            inserted = await conn.execute(text("INSERT INTO t (name) VALUES ('a')"))
            assert inserted.lastrowid == 1
            assert inserted.rowcount == 1
            many = await conn.execute(text("INSERT INTO t (name) VALUES (:n)"), [{"n": "b"}, {"n": "c"}])
            assert many.rowcount == 2
            returned = await conn.execute(text("INSERT INTO t (name) VALUES ('d') RETURNING id"))
            assert returned.scalar_one() == 4
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT id, name FROM t ORDER BY id"))).all()
            assert [tuple(r) for r in rows] == [(1, "a"), (2, "b"), (3, "c"), (4, "d")]
            result = await conn.execute(text("SELECT name FROM t WHERE id > :i ORDER BY id"), {"i": 2})
            assert list(result.keys()) == ["name"]
            assert result.fetchone() == ("c",)
            assert result.fetchall() == [("d",)]
            updated = await conn.execute(text("UPDATE t SET name = name || '!' WHERE id <= 2"))
            assert updated.rowcount == 2
            await conn.rollback()
            with pytest.raises(exc.IntegrityError):
                await conn.execute(text("INSERT INTO t (name) VALUES ('a')"))
            await conn.rollback()
            with pytest.raises(exc.OperationalError):
                await conn.execute(text("SELECT * FROM missing"))
            await conn.rollback()
            assert (await conn.execute(text("SELECT name FROM t WHERE id = 1"))).scalar_one() == "a"  # rolled back
    finally:
        await engine.dispose()


async def test_one_thread_hop_per_statement(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", pool_size=1)
    hops = 0
    real = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: object, *args: object, **kwargs: object) -> object:
        nonlocal hops
        hops += 1
        return await real(self, fn, *args, **kwargs)  # type: ignore[arg-type]

    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))  # connect and warm up
            assert isinstance(conn.sync_connection.connection.dbapi_connection.cursor(), OneHopCursor)  # type: ignore[union-attr]
            monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
            assert (await conn.execute(text("SELECT 1 + 1"))).scalar_one() == 2
            assert hops == 1  # SQLAlchemy's own adapter: cursor, execute, fetchall, close = 4
    finally:
        await engine.dispose()
