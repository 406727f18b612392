"""Audit log benchmark: append throughput of the batched log on SQLite and PostgreSQL, and proof cost at 10^5
and 10^6 entries.

Every figure is printed with a baseline measured in the same run:
- appends per second, counted from the first append until every entry is sequenced (queued by concurrent
  writers, each append its own transaction; the integrator loop of each instance running), vs a bare INSERT
  of the same queue rows with the same writers and no integrator; with the sequencing latency (append
  committed -> sequenced) of a sample of entries. SQLite: one instance. PostgreSQL: two instances (two engines,
  two integrator loops, one advisory lock).
- the same through the group commit that reads and denied attempts use (`AuditRecorder.append_now`: every
  writer's append awaits the commit of the transaction that carried it, one per instance at a time), vs the
  same bare INSERT. Appends inside a caller's own transaction (writes) are the first figure.
- inclusion and consistency proof generation time at 10^6 vs at 10^5 entries (log n predicts ~1.2x, linear
  growth would be 10x). The large trees are bulk-loaded straight into `audit_tree_nodes`.

Usage (from the repository root; PostgreSQL on 127.0.0.1:5432 as for the tests):
    .venv/bin/python -m bench.audit_log [--appends 6000] [--writers 16] [--big 1000000] [--small 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from sqlalchemy import create_engine, insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from vault.audit import AuditAction, AuditEvent, Outcome, generate_signing_key, merkle
from vault.audit.entry import queued_body
from vault.audit.group_commit import GroupCommitter
from vault.audit.integrator import Integrator, IntegratorConfig
from vault.audit.log import AuditLog
from vault.audit.models import (
    AuditCheckpointRow,
    AuditEntryRow,
    AuditHeadRow,
    AuditQueueRow,
    AuditTreeNodeRow,
)
from vault.audit.queue import enqueue
from vault.core.base import Base
from vault.core.database import create_engine as create_service_engine

TABLES = [
    AuditQueueRow.__table__,
    AuditEntryRow.__table__,
    AuditTreeNodeRow.__table__,
    AuditHeadRow.__table__,
    AuditCheckpointRow.__table__,
]
BATCH = 50_000
ORIGIN = "bench.example/audit"


def event(number: int) -> AuditEvent:
    return AuditEvent(
        AuditAction.DOCUMENT_DOWNLOAD, Outcome.SUCCESS, actor_ref=f"{number % 97:064x}", details={"n": number}
    )


# ----- append throughput ----------------------------------------------------------------------------------


async def _create_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: Base.metadata.drop_all(sync, tables=TABLES))
        await conn.run_sync(lambda sync: Base.metadata.create_all(sync, tables=TABLES))


async def _bare_rate(url: str, instances: int, writers: int, count: int) -> float:
    """Queue rows per second with the same writers, each INSERT committed alone, and no integrator."""
    engines = [create_service_engine(url) for _ in range(instances)]
    await _create_tables(engines[0])
    factories = [async_sessionmaker(engine) for engine in engines]
    per_writer = count // (instances * writers)

    async def write(factory: async_sessionmaker[AsyncSession], offset: int) -> None:
        for number in range(offset, offset + per_writer):
            async with factory() as session, session.begin():
                await session.execute(insert(AuditQueueRow).values(queued_us=number, body=queued_body(event(number))))

    started = time.perf_counter()
    await asyncio.gather(*(write(factories[i % instances], i * per_writer) for i in range(instances * writers)))
    elapsed = time.perf_counter() - started
    for engine in engines:
        await engine.dispose()
    return per_writer * instances * writers / elapsed


async def _log_rate(
    url: str, instances: int, writers: int, count: int, batch: int, *, grouped: bool = False
) -> tuple[float, list[float], int]:
    """Appends per second until all are sequenced, a sample of sequencing latencies (s), and the tree size.

    `grouped`: each append goes through the instance's group commit instead of a transaction of its own."""
    engines = [create_service_engine(url) for _ in range(instances)]
    await _create_tables(engines[0])
    log = AuditLog(ORIGIN, generate_signing_key())

    async def open_log() -> AuditLog:
        return log

    factories = [async_sessionmaker(engine, expire_on_commit=False) for engine in engines]
    integrators = [Integrator(f, open_log, IntegratorConfig(batch_size=batch)) for f in factories]
    for integrator in integrators:
        await integrator.start()
    groups = [GroupCommitter(f, i.wake) for f, i in zip(factories, integrators, strict=True)]
    per_writer = count // (instances * writers)
    latencies: list[float] = []
    watchers: list[asyncio.Task[None]] = []

    async def watch(factory: async_sessionmaker[AsyncSession], queue_id: int, since: float) -> None:
        while True:
            async with factory() as session:
                if (await log.status(session, queue_id)).state == "sequenced":
                    latencies.append(time.perf_counter() - since)
                    return
            await asyncio.sleep(0.05)

    async def write(index: int) -> None:
        factory, integrator = factories[index % instances], integrators[index % instances]
        for number in range(index * per_writer, (index + 1) * per_writer):
            if grouped:
                queue_id = await groups[index % instances].append(event(number))
            else:
                async with factory() as session, session.begin():
                    queue_id = await enqueue(session, event(number))
                integrator.wake()  # what AuditRecorder does after the caller's commit
            if number % 100 == 0:
                watchers.append(asyncio.create_task(watch(factory, queue_id, time.perf_counter())))

    started = time.perf_counter()
    await asyncio.gather(*(write(i) for i in range(instances * writers)))
    await integrators[0].settle(within=120)
    elapsed = time.perf_counter() - started
    await asyncio.gather(*watchers)
    for group in groups:
        await group.close()  # its own connection (PostgreSQL)
    for integrator in integrators:
        await integrator.stop()
    async with factories[0]() as session:
        size = await log.tree_size(session)
    for engine in engines:
        await engine.dispose()
    return per_writer * instances * writers / elapsed, latencies, size


@contextlib.contextmanager
def _postgres_databases(count: int) -> Iterator[list[str]]:
    from tests.services import postgres

    names = [postgres.create_database() for _ in range(count)]
    try:
        yield [postgres.database_url(name) for name in names]
    finally:
        for name in names:
            postgres.drop_database(name)


def _latency_text(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"sequencing latency over {len(ordered)} sampled entries: median {statistics.median(ordered) * 1000:.0f} ms,"
        f" p99 {p99 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms"
    )


async def append_figures(appends: int, writers: int, batch: int, tmp: Path) -> None:
    for backend, instances, target in (("SQLite", 1, 1000), ("PostgreSQL", 2, 2000)):
        if backend == "SQLite":
            urls = [f"sqlite+aiosqlite:///{tmp}/log.db", f"sqlite+aiosqlite:///{tmp}/bare.db"]
            context: contextlib.AbstractContextManager[list[str]] = contextlib.nullcontext(urls)
        else:
            context = _postgres_databases(2)
        with context as (log_url, bare_url):
            bare = await _bare_rate(bare_url, instances, writers, appends)
            figures = [("own transactions", await _log_rate(log_url, instances, writers, appends, batch))]
            figures.append(("group commit", await _log_rate(log_url, instances, writers, appends, batch, grouped=True)))
        for way, (rate, latencies, size) in figures:
            verdict = "meets" if rate >= target else "MISSES"
            print(
                f"{backend}, {instances} instance(s) x {writers} writers, {way}: {rate:,.0f} appends/s sequenced vs"
                f" bare INSERT {bare:,.0f}/s -> ratio {rate / bare:.2f}; {verdict} the {target:,}/s target;"
                f" log size {size:,}"
            )
            print(f"  {_latency_text(latencies)}")


# ----- proof cost -----------------------------------------------------------------------------------------


def bulk_load_tree(path: Path, size: int) -> float:
    """Write `size` synthetic leaves and all their complete perfect subtrees; return the seconds it took."""
    engine = create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine, tables=TABLES)
    engine.dispose()
    started = time.perf_counter()
    level_hashes = [hashlib.sha256(b"\x00" + i.to_bytes(8, "big")).digest() for i in range(size)]
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        level = 0
        while level_hashes:
            rows = ((level, idx, digest) for idx, digest in enumerate(level_hashes))
            while batch := [row for _, row in zip(range(BATCH), rows, strict=False)]:
                conn.executemany("INSERT INTO audit_tree_nodes (level, idx, hash) VALUES (?, ?, ?)", batch)
            level_hashes = [
                merkle.node_hash(level_hashes[i], level_hashes[i + 1]) for i in range(0, len(level_hashes) - 1, 2)
            ]
            level += 1
    return time.perf_counter() - started


async def _time_once(log: AuditLog, session: AsyncSession, size: int, rng: random.Random) -> list[float]:
    """Seconds for one inclusion proof, one consistency proof and one tree head at `size`."""
    index, first, head = rng.randrange(size), rng.randrange(1, size), rng.randrange(1, size + 1)
    t0 = time.perf_counter()
    await log.inclusion_proof(session, index, size)
    t1 = time.perf_counter()
    await log.consistency_proof(session, first, size)
    t2 = time.perf_counter()
    await log.tree_head(session, head)
    t3 = time.perf_counter()
    return [t1 - t0, t2 - t1, t3 - t2]


@contextlib.asynccontextmanager
async def _sessions(urls: dict[int, str]) -> AsyncIterator[dict[int, AsyncSession]]:
    engines = {size: create_async_engine(url) for size, url in urls.items()}
    sessions = {size: async_sessionmaker(engine)() for size, engine in engines.items()}
    try:
        yield sessions
    finally:
        for size, session in sessions.items():
            await session.close()
            await engines[size].dispose()


async def proof_figures(small: int, big: int, samples: int, tmp: Path) -> None:
    paths = {small: tmp / "small.db", big: tmp / "big.db"}
    loads = {size: bulk_load_tree(path, size) for size, path in paths.items()}
    print(f"bulk load: {small:,} leaves in {loads[small]:.1f} s, {big:,} leaves in {loads[big]:.1f} s")
    log = AuditLog(ORIGIN, generate_signing_key())
    rng = random.Random(7)
    timings: dict[int, list[list[float]]] = {small: [], big: []}
    async with _sessions({size: f"sqlite+aiosqlite:///{path}" for size, path in paths.items()}) as sessions:
        for size, session in sessions.items():
            await _time_once(log, session, size, rng)  # warm the connection and the page cache
        for _ in range(samples):  # alternate the sizes so that load from other processes hits them alike
            for size, session in sessions.items():
                timings[size].append(await _time_once(log, session, size, rng))
    medians = {
        size: [statistics.median(col) * 1000 for col in zip(*rows, strict=True)] for size, rows in timings.items()
    }
    expected = big.bit_length() / small.bit_length()
    for name, at_small, at_big in zip(
        ("inclusion proof", "consistency proof", "tree head"), medians[small], medians[big], strict=True
    ):
        print(
            f"{name}: {at_big:.3f} ms at {big:,} vs {at_small:.3f} ms at {small:,} -> ratio {at_big / at_small:.2f}"
            f" (target <= 1.5; log n predicts {expected:.2f}, linear {big / small:.0f})"
        )


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        await append_figures(args.appends, args.writers, args.batch, Path(tmp))
        if not args.skip_proofs:
            await proof_figures(args.small, args.big, args.samples, Path(tmp))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--appends", type=int, default=6000)
    parser.add_argument("--writers", type=int, default=16, help="concurrent writers per instance")
    parser.add_argument("--batch", type=int, default=1000, help="integrator batch size")
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--skip-proofs", action="store_true")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
