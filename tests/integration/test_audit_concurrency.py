"""Concurrent writers (two engines as two instances, and two OS processes), each running its integrator loop,
build one gap-free verifiable log; on PostgreSQL one integrator works at a time and a stalled one is replaced.

Run as a module, this file is also the writer process: `python -m tests.integration.test_audit_concurrency
URL TAG COUNT` queues COUNT entries tagged TAG, a few at a time, with its own integrator loop running.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from tests.integration.test_audit_support import LogUnderTest, engine_for, event, export, fresh_engine, new_log, sign
from vault.audit import AuditUnavailable, public_key_note_verifier, verify_bundle
from vault.audit.integrator import ADVISORY_LOCK_KEY, Integrator, IntegratorConfig
from vault.audit.log import AuditLog

REPO_ROOT = Path(__file__).resolve().parents[2]
TASKS_PER_INSTANCE = 40
FAST = IntegratorConfig(poll_interval=0.05)


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


async def _append(tested: LogUnderTest, tag: str, number: int) -> int:
    """Half the writers queue on their own, half inside a longer transaction of their own."""
    if number % 2:
        return await tested.append_now(event(number, details={"writer": tag, "n": number}))
    async with tested.factory() as session, session.begin():
        return await tested.log.queue(session, event(number, details={"writer": tag, "n": number}))


async def _assert_one_verifiable_log(tested: LogUnderTest, tags: list[str], per_tag: int) -> None:
    await sign(tested)
    bundle = await export(tested)
    verdict = verify_bundle(bundle, trusted_key=public_key_note_verifier(tested.log.origin, tested.log.signing_key))
    assert verdict.ok, verdict.problem
    assert verdict.checked_entries == len(tags) * per_tag
    async with tested.factory() as session:
        entries = await tested.log.entries(session, limit=1000)
    assert [entry.seq for entry in entries] == list(range(len(tags) * per_tag))
    written = Counter((e.record["details"]["writer"], e.record["details"]["n"]) for e in entries)
    assert written == Counter({(tag, n): 1 for tag in tags for n in range(per_tag)})
    times = [datetime.fromisoformat(e.record["time"]) for e in entries]
    assert times == sorted(times)


async def test_two_instances_with_running_integrators_make_one_gap_free_log(
    database_url: str, engine: AsyncEngine
) -> None:
    first = new_log(async_sessionmaker(engine, expire_on_commit=False), FAST)
    second_engine = engine_for(database_url)
    second = first.on(async_sessionmaker(second_engine, expire_on_commit=False))
    instances = {"a": first, "b": second}
    for tested in instances.values():
        await tested.integrator.start()
    try:
        queue_ids = await asyncio.gather(
            *(_append(tested, tag, n) for n in range(TASKS_PER_INSTANCE) for tag, tested in instances.items())
        )
    finally:
        for tested in instances.values():
            await tested.integrator.stop()
        await second_engine.dispose()
    assert len(set(queue_ids)) == 2 * TASKS_PER_INSTANCE
    async with first.factory() as session:
        states = {(await first.log.status(session, q)).state for q in queue_ids}
    assert states == {"sequenced"}  # stopping the loops sequenced everything they had queued
    await _assert_one_verifiable_log(first, ["a", "b"], TASKS_PER_INSTANCE)


async def test_two_processes_with_their_own_integrators_make_one_gap_free_log(
    database_url: str, engine: AsyncEngine
) -> None:
    count = 30
    tested = new_log(async_sessionmaker(engine, expire_on_commit=False))
    key = tested.log.signing_key.private_bytes_raw().hex()
    writers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.integration.test_audit_concurrency",
            database_url,
            tag,
            str(count),
            key,
            cwd=REPO_ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for tag in ("p1", "p2")
    ]
    for writer in writers:
        _, stderr = await asyncio.wait_for(writer.communicate(), timeout=120)
        assert writer.returncode == 0, stderr.decode()
    await _assert_one_verifiable_log(tested, ["p1", "p2"], count)


class _StalledIntegrator(Integrator):
    """An integrator whose instance is cut off from the database in the middle of a batch (it never goes on)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.holding = asyncio.Event()
        self.released = asyncio.Event()

    async def _sequence(self, *args: object, **kwargs: object) -> None:
        self.holding.set()
        await self.released.wait()
        await super()._sequence(*args, **kwargs)  # type: ignore[arg-type]


async def test_a_stalled_integrator_is_replaced_once_its_database_session_times_out(postgres_url: str) -> None:
    async with fresh_engine(postgres_url) as engine:
        healthy = new_log(async_sessionmaker(engine, expire_on_commit=False))
        stalled_engine = create_async_engine(postgres_url)
        config = IntegratorConfig(idle_timeout_ms=300, lock_timeout_ms=300)

        async def open_log() -> AuditLog:
            return healthy.log

        stalled = _StalledIntegrator(async_sessionmaker(stalled_engine), open_log, config)
        try:
            for number in range(5):
                await healthy.append_now(event(number))
            stuck = asyncio.create_task(stalled.integrate_once())
            await asyncio.wait_for(stalled.holding.wait(), timeout=30)
            assert await healthy.integrator.integrate_once() is None  # the lock is held: it does not wait for it

            async def take_over() -> int:
                while (done := await healthy.integrator.integrate_once()) is None:
                    await asyncio.sleep(0.05)
                return done

            assert await asyncio.wait_for(take_over(), timeout=30) == 5
            stalled.released.set()
            with pytest.raises(AuditUnavailable):
                await stuck  # the server ended its session: its batch is gone, nothing was written twice
        finally:
            stalled.released.set()
            await stalled_engine.dispose()
        await _assert_one_verifiable_log_of(healthy, 5)


async def _assert_one_verifiable_log_of(tested: LogUnderTest, count: int) -> None:
    await sign(tested)
    verdict = verify_bundle(await export(tested))
    assert (verdict.ok, verdict.checked_entries) == (True, count), verdict.problem


async def test_an_instance_holding_the_advisory_lock_keeps_others_from_integrating(postgres_url: str) -> None:
    async with fresh_engine(postgres_url) as engine:
        tested = new_log(async_sessionmaker(engine, expire_on_commit=False))
        await tested.append_now(event(0))
        async with engine.connect() as other:
            await other.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
            assert await tested.integrator.integrate_once() is None
            await other.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
        assert await tested.integrator.integrate_once() == 1


async def _write_as_process(url: str, tag: str, count: int, key_hex: str) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from tests.integration.test_audit_support import ORIGIN

    engine = engine_for(url)
    factory: async_sessionmaker[AsyncSession] = async_sessionmaker(engine)
    log = AuditLog(ORIGIN, Ed25519PrivateKey.from_private_bytes(bytes.fromhex(key_hex)))

    async def open_log() -> AuditLog:
        return log

    tested = LogUnderTest(log, Integrator(factory, open_log, FAST), factory)
    await tested.integrator.start()
    try:
        for first in range(0, count, 4):
            await asyncio.gather(*(_append(tested, tag, n) for n in range(first, min(first + 4, count))))
    finally:
        await tested.integrator.stop()
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(_write_as_process(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]))
