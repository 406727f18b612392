"""Concurrent writers (two engines as two instances, and two OS processes) build one gap-free verifiable log.

Run as a module, this file is also the writer process: `python -m tests.integration.test_audit_concurrency
URL TAG COUNT` appends COUNT entries tagged TAG, a few at a time.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from tests.integration.test_audit_support import event, export, fresh_engine, new_log, sign
from vault.audit import AuditLog, public_key_note_verifier, verify_bundle

REPO_ROOT = Path(__file__).resolve().parents[2]
TASKS_PER_INSTANCE = 40


@pytest.fixture(params=["sqlite", "sqlite-wal", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tmp_path}/a.db"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def engine(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[AsyncEngine]:
    async with fresh_engine(database_url) as engine:
        if "sqlite-wal" in request.node.callspec.id:
            # WAL (the service's SQLite setting) persists in the file: every later connection uses it.
            async with engine.connect() as conn:
                assert (await conn.exec_driver_sql("PRAGMA journal_mode=WAL")).scalar() == "wal"
        yield engine


async def _append(log: AuditLog, factory: async_sessionmaker[AsyncSession], tag: str, number: int) -> int:
    """Half the writers append on their own, half inside a transaction of their own rows."""
    if number % 2:
        return await log.append_now(factory, event(number, details={"writer": tag, "n": number}))
    async with factory() as session, session.begin():
        return await log.append(session, event(number, details={"writer": tag, "n": number}))


async def _assert_one_verifiable_log(
    log: AuditLog, factory: async_sessionmaker[AsyncSession], tags: list[str], per_tag: int
) -> None:
    await sign(log, factory)
    bundle = await export(log, factory)
    verdict = verify_bundle(bundle, trusted_key=public_key_note_verifier(log.origin, log.signing_key))
    assert verdict.ok, verdict.problem
    assert verdict.checked_entries == len(tags) * per_tag
    async with factory() as session:
        entries = await log.entries(session, limit=1000)
    assert [entry.seq for entry in entries] == list(range(len(tags) * per_tag))
    written = Counter((e.record["details"]["writer"], e.record["details"]["n"]) for e in entries)
    assert written == Counter({(tag, n): 1 for tag in tags for n in range(per_tag)})


async def test_two_instances_appending_at_once_make_one_gap_free_log(database_url: str, engine: AsyncEngine) -> None:
    log = new_log()
    second_engine = create_async_engine(database_url)
    try:
        instances = {"a": async_sessionmaker(engine), "b": async_sessionmaker(second_engine)}
        seqs = await asyncio.gather(
            *(
                _append(log, factory, tag, number)
                for number in range(TASKS_PER_INSTANCE)
                for tag, factory in instances.items()
            )
        )
    finally:
        await second_engine.dispose()
    assert sorted(seqs) == list(range(2 * TASKS_PER_INSTANCE))
    await _assert_one_verifiable_log(
        log, async_sessionmaker(engine, expire_on_commit=False), ["a", "b"], TASKS_PER_INSTANCE
    )


async def test_two_processes_appending_at_once_make_one_gap_free_log(database_url: str, engine: AsyncEngine) -> None:
    count = 30
    writers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.integration.test_audit_concurrency",
            database_url,
            tag,
            str(count),
            cwd=REPO_ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for tag in ("p1", "p2")
    ]
    for writer in writers:
        _, stderr = await asyncio.wait_for(writer.communicate(), timeout=120)
        assert writer.returncode == 0, stderr.decode()
    await _assert_one_verifiable_log(new_log(), async_sessionmaker(engine, expire_on_commit=False), ["p1", "p2"], count)


async def _write_as_process(url: str, tag: str, count: int) -> None:
    engine = create_async_engine(url)
    factory = async_sessionmaker(engine)
    log = new_log()
    try:
        for first in range(0, count, 4):
            await asyncio.gather(*(_append(log, factory, tag, n) for n in range(first, min(first + 4, count))))
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(_write_as_process(sys.argv[1], sys.argv[2], int(sys.argv[3])))
