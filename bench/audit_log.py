"""Audit log benchmark on SQLite: append throughput and proof cost at 10^5 and 10^6 entries.

Every figure is printed with a baseline measured in the same run:
- appends per second (each its own transaction) vs a bare INSERT of the same rows, same engine;
- appends per second into a tree of 10^6 leaves vs into an empty one;
- inclusion and consistency proof generation time at 10^6 vs at 10^5 entries (log n predicts ~1.2x,
  linear growth would be 10x).

The large trees are bulk-loaded straight into `audit_tree_nodes` (leaves and every complete perfect subtree,
executemany in batches): proofs and tree heads read only that table.

Usage: .venv/bin/python bench/audit_log.py [--big 1000000] [--small 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from vault.audit import AuditEvent, AuditLog, generate_signing_key, merkle
from vault.audit.entry import canonical_entry
from vault.audit.models import AuditCheckpointRow, AuditEntryRow, AuditTreeNodeRow
from vault.core.base import Base

TABLES = [AuditEntryRow.__table__, AuditTreeNodeRow.__table__, AuditCheckpointRow.__table__]
BATCH = 50_000


def create_tables(path: Path) -> None:
    """Create the audit tables in a WAL-mode database (the same journal mode for every figure)."""
    engine = create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine, tables=TABLES)
    engine.dispose()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")


def bulk_load_tree(path: Path, size: int) -> float:
    """Write `size` synthetic leaves and all their complete perfect subtrees; return the seconds it took."""
    started = time.perf_counter()
    level_hashes = [hashlib.sha256(b"\x00" + i.to_bytes(8, "big")).digest() for i in range(size)]
    with sqlite3.connect(path) as conn:
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


def event(number: int) -> AuditEvent:
    return AuditEvent(
        action="document.download", outcome="success", actor_subject=f"user-{number % 97}", details={"n": number}
    )


def bare_rows(first_seq: int, count: int) -> list[dict[str, object]]:
    """Rows like the log writes, for the bare-INSERT baseline."""
    moment = datetime.now(UTC)
    rows: list[dict[str, object]] = []
    for number in range(first_seq, first_seq + count):
        canonical = canonical_entry(number, moment, event(number))
        rows.append(
            {
                "seq": number,
                "time": moment,
                "canonical": canonical,
                "leaf_hash": merkle.leaf_hash(canonical),
                "action": "document.download",
                "outcome": "success",
                "actor_subject": f"user-{number % 97}",
            }
        )
    return rows


async def write_rates(urls: dict[str, str], count: int, rounds: int = 20) -> dict[str, float]:
    """Writes per second, each committed alone: `bare` INSERTs, and log appends into `empty` and `big`.

    The three run in alternating rounds so that disk and CPU noise from other processes hits them alike.
    """
    engines = {name: create_async_engine(url) for name, url in urls.items()}
    factories = {name: async_sessionmaker(engine) for name, engine in engines.items()}
    log = AuditLog("bench.example/audit", generate_signing_key())
    spent = dict.fromkeys(urls, 0.0)
    per_round = count // rounds
    for round_number in range(rounds):
        rows = bare_rows(round_number * per_round, per_round)
        started = time.perf_counter()
        for row in rows:
            async with factories["bare"]() as session, session.begin():
                await session.execute(insert(AuditEntryRow), [row])
        spent["bare"] += time.perf_counter() - started
        for name in ("empty", "big"):
            started = time.perf_counter()
            for number in range(per_round):
                await log.append_now(factories[name], event(number))
            spent[name] += time.perf_counter() - started
    for engine in engines.values():
        await engine.dispose()
    return {name: per_round * rounds / seconds for name, seconds in spent.items()}


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


async def proof_times(urls: dict[int, str], samples: int) -> dict[int, list[float]]:
    """Median milliseconds per size for (inclusion proof, consistency proof, tree head).

    The sizes are sampled alternately so that load from other processes hits them alike.
    """
    engines = {size: create_async_engine(url) for size, url in urls.items()}
    log = AuditLog("bench.example/audit", generate_signing_key())
    rng = random.Random(7)
    timings: dict[int, list[list[float]]] = {size: [] for size in urls}
    sessions = {size: async_sessionmaker(engine)() for size, engine in engines.items()}
    for size, session in sessions.items():
        await _time_once(log, session, size, rng)  # warm the connection and the page cache
    for _ in range(samples):
        for size, session in sessions.items():
            timings[size].append(await _time_once(log, session, size, rng))
    for size, session in sessions.items():
        await session.close()
        await engines[size].dispose()
    return {
        size: [statistics.median(column) * 1000 for column in zip(*rows, strict=True)] for size, rows in timings.items()
    }


async def run(small: int, big: int, appends: int, samples: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths = {name: Path(tmp) / f"{name}.db" for name in ("empty", "bare", "small", "big")}
        for path in paths.values():
            create_tables(path)
        urls = {name: f"sqlite+aiosqlite:///{path}" for name, path in paths.items()}
        load_small = bulk_load_tree(paths["small"], small)
        load_big = bulk_load_tree(paths["big"], big)
        print(f"bulk load: {small:,} leaves in {load_small:.1f} s, {big:,} leaves in {load_big:.1f} s")

        rates = await write_rates({name: urls[name] for name in ("bare", "empty", "big")}, appends)
        bare, empty, at_big = rates["bare"], rates["empty"], rates["big"]
        print(f"appends/s, empty log: {empty:,.0f} vs bare INSERT {bare:,.0f} per s -> ratio {empty / bare:.2f}")
        print(f"appends/s at {big:,} leaves: {at_big:,.0f} vs {empty:,.0f} at 0 -> ratio {at_big / empty:.2f}")

        times = await proof_times({small: urls["small"], big: urls["big"]}, samples)
        small_times, big_times = times[small], times[big]
        expected = big.bit_length() / small.bit_length()
        for name, at_small, at_big_ms in zip(
            ("inclusion proof", "consistency proof", "tree head"), small_times, big_times, strict=True
        ):
            print(
                f"{name}: {at_big_ms:.3f} ms at {big:,} vs {at_small:.3f} ms at {small:,} -> ratio "
                f"{at_big_ms / at_small:.2f} (log n predicts {expected:.2f}, linear {big / small:.0f})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--appends", type=int, default=2_000)
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(run(args.small, args.big, args.appends, args.samples))


if __name__ == "__main__":
    main()
