"""The batched audit log on SQLite and PostgreSQL: queueing, sequencing, queries, proofs, checkpoints, export
and failing closed."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from tests.integration.test_audit_support import ORIGIN, LogUnderTest, event, export, fill, new_log, raw, sign
from vault.audit import AuditAction, AuditConflict, AuditRangeError, AuditUnavailable, merkle, public_key_note_verifier
from vault.audit.entry import parse_time
from vault.audit.models import AuditQueueRow
from vault.audit.note import open_checkpoint
from vault.audit.queue import database_clock_us, dialect_name, from_micros
from vault.audit.verify import main as verify_main
from vault.audit.verify import verify_bundle


@pytest.fixture
def tested(factory: async_sessionmaker[AsyncSession]) -> LogUnderTest:
    return new_log(factory)


async def test_sequenced_entries_are_contiguous_and_match_the_in_memory_tree(tested: LogUnderTest) -> None:
    queue_ids = [await tested.append_now(event(n)) for n in range(37)]
    assert len(set(queue_ids)) == 37
    await tested.settle()
    log = tested.log
    async with tested.factory() as session:
        entries = await log.entries(session, limit=1000)
        leaves = [merkle.leaf_hash(entry.canonical) for entry in entries]
        assert [entry.leaf_hash for entry in entries] == leaves
        assert [entry.record["seq"] for entry in entries] == list(range(37))
        assert [entry.record["details"]["n"] for entry in entries] == list(range(37))  # queue order kept
        for size in (1, 2, 5, 8, 16, 17, 37):
            assert await log.tree_head(session, size) == (size, merkle.root(leaves[:size]))
            for index in range(size):
                assert await log.inclusion_proof(session, index, size) == merkle.inclusion_proof(index, leaves[:size])
        for first in range(38):
            assert await log.consistency_proof(session, first, 37) == merkle.consistency_proof(first, leaves)


async def test_batches_smaller_than_the_queue_extend_the_same_tree(factory: async_sessionmaker[AsyncSession]) -> None:
    from vault.audit.integrator import IntegratorConfig

    tested = new_log(factory, IntegratorConfig(batch_size=7))
    for number in range(30):
        await tested.append_now(event(number))
    batches = [await tested.integrator.integrate_once() for _ in range(6)]
    assert batches == [7, 7, 7, 7, 2, 0]
    async with factory() as session:
        entries = await tested.log.entries(session, limit=100)
        head = await tested.log.head(session)
    assert head is not None
    assert (head.tree_size, head.root_hash) == (30, merkle.root([merkle.leaf_hash(e.canonical) for e in entries]))
    assert open_checkpoint(head.note, ORIGIN, tested.log.signing_key.public_key()).tree_size == 30


async def test_a_queued_entry_commits_or_vanishes_with_the_callers_transaction(tested: LogUnderTest) -> None:
    async with tested.factory() as session:
        async with session.begin():
            kept = await tested.log.queue(session, event(0))
        async with session.begin():
            lost = await tested.log.queue(session, event(1, action=AuditAction.DOCUMENT_ERASE))
            await session.rollback()
    async with tested.factory() as session:
        assert (await tested.log.status(session, kept)).state == "pending"  # accepted, not yet sequenced
        assert (await tested.log.status(session, lost)).state == "unknown"
    await tested.settle()
    async with tested.factory() as session:
        status = await tested.log.status(session, kept)
        assert (status.state, status.seq) == ("sequenced", 0)
        assert [e.record["action"] for e in await tested.log.entries(session)] == ["document.download"]


async def test_entries_filter_on_indexed_columns(tested: LogUnderTest) -> None:
    document = uuid4()
    await fill(tested, 6)
    await tested.append_now(event(6, action=AuditAction.GRANT_CREATE, owner_ref="p-1", document_id=document))
    await tested.append_now(event(7, action=AuditAction.LINK_USE, owner_ref="p-1", actor_ref="bob-pseudonym"))
    await tested.settle()
    log = tested.log
    async with tested.factory() as session:
        by_owner = await log.entries(session, owner_ref="p-1")
        assert [e.seq for e in by_owner] == [6, 7]
        assert [e.seq for e in await log.entries(session, document_id=document)] == [6]
        assert [e.seq for e in await log.entries(session, actor_ref="bob-pseudonym")] == [7]
        assert [e.seq for e in await log.entries(session, action="grant.create", owner_ref="p-1")] == [6]
        assert [e.seq for e in await log.entries(session, start=2, limit=3)] == [2, 3, 4]
        assert by_owner[0].record["objects"]["document"] == str(document)
        assert by_owner[1].record["actor"] == {"ref": "bob-pseudonym", "role": None, "agency": None, "client_id": None}


async def _database_now(factory: async_sessionmaker[AsyncSession]) -> datetime:
    async with factory() as session:
        return from_micros(int(await session.scalar(select(database_clock_us(dialect_name(session)))) or 0))


async def test_entry_times_come_from_the_database_clock(tested: LogUnderTest) -> None:
    before = await _database_now(tested.factory)
    await fill(tested, 5)
    after = await _database_now(tested.factory)
    async with tested.factory() as session:
        entries = await tested.log.entries(session)
    times = [e.time for e in entries]
    assert times == sorted(times)
    assert [parse_time(e.record["time"]) for e in entries] == times
    resolution = timedelta(milliseconds=1)  # SQLite's clock has millisecond resolution
    assert all(before - resolution <= moment <= after + resolution for moment in times), (before, times, after)


async def test_an_entry_queued_earlier_but_committed_later_keeps_time_monotone(postgres_url: str) -> None:
    from tests.integration.test_audit_support import fresh_engine

    async with fresh_engine(postgres_url) as engine:
        tested = new_log(async_sessionmaker(engine, expire_on_commit=False))
        async with tested.factory() as slow, slow.begin():
            early = await tested.log.queue(slow, event(0))  # queued first, committed last
            late = await tested.append_now(event(1))  # no lock: this commits while the other is open
            await tested.settle()
        await tested.settle()
        async with tested.factory() as session:
            first, second = await tested.log.entries(session)
            assert [(await tested.log.status(session, q)).seq for q in (late, early)] == [0, 1]
    assert second.time == first.time  # its own (earlier) time would go backwards: it takes the previous one


async def test_the_head_is_signed_every_batch_and_checkpoints_are_kept_on_demand(tested: LogUnderTest) -> None:
    log = tested.log
    async with tested.factory() as session:
        assert await log.latest_checkpoint(session) is None
    await fill(tested, 5)
    async with tested.factory() as session, session.begin():
        first = await log.checkpoint(session)
        again = await log.checkpoint(session)
    assert again.note == first.note
    body = open_checkpoint(first.note, ORIGIN, log.signing_key.public_key())
    assert (body.tree_size, body.root_hash) == (5, first.root_hash)
    await fill(tested, 1)
    async with tested.factory() as session:
        latest = await log.latest_checkpoint(session)
        assert latest is not None
        assert latest.tree_size == 6  # the head, signed by the batch
        assert [cp.tree_size for cp in await log.checkpoints(session)] == [5]
        proof = await log.consistency_proof(session, 5, 6)
    assert merkle.verify_consistency(5, 6, proof, first.root_hash, latest.root_hash)


@pytest.mark.parametrize(("seq", "size"), [(5, 5), (0, 7), (-1, 3)])
async def test_proofs_outside_the_log_are_refused(tested: LogUnderTest, seq: int, size: int) -> None:
    await fill(tested, 5)
    async with tested.factory() as session:
        with pytest.raises(AuditRangeError):
            await tested.log.inclusion_proof(session, seq, size)
        with pytest.raises(AuditRangeError):
            await tested.log.consistency_proof(session, 3, 6)


async def test_an_untouched_export_verifies_offline(tested: LogUnderTest, tmp_path: Path) -> None:
    await fill(tested, 9)
    await sign(tested)
    await fill(tested, 12)
    await sign(tested)
    for number in range(2):
        await tested.append_now(event(number))  # queued, not sequenced: left out of the export
    bundle = await export(tested)
    assert (bundle["start"], bundle["end"], len(bundle["checkpoints"])) == (0, 21, 2)
    verifier = public_key_note_verifier(ORIGIN, tested.log.signing_key)
    assert verify_bundle(bundle, trusted_key=verifier).ok
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    assert verify_main([str(path), "--key", verifier]) == 0
    other = new_log(tested.factory).log.signing_key
    assert verify_main([str(path), "--key", public_key_note_verifier(ORIGIN, other)]) == 1


async def test_the_export_includes_the_latest_signed_head(tested: LogUnderTest) -> None:
    await fill(tested, 4)
    await sign(tested)
    await fill(tested, 3)  # sequenced and signed as the head, not kept in the history
    bundle = await export(tested)
    assert [cp["tree_size"] for cp in bundle["checkpoints"]] == [4, 7]
    assert len(bundle["entries"]) == len(bundle["tree_leaf_hashes"]) == 7
    assert verify_bundle(bundle).ok


async def test_a_partial_export_verifies_from_its_prefix(tested: LogUnderTest) -> None:
    await fill(tested, 13)
    await sign(tested)
    await fill(tested, 10)
    await sign(tested)
    bundle = await export(tested, start=13)
    assert [e["seq"] for e in bundle["entries"]] == list(range(13, 23))
    verdict = verify_bundle(bundle)
    assert (verdict.ok, verdict.checked_entries) == (True, 10)
    bundle["prefix"][0] = bundle["prefix"][1]
    assert not verify_bundle(bundle).ok


async def test_an_export_longer_than_a_page_streams_in_pages(tested: LogUnderTest) -> None:
    from vault.audit import export as exporter

    for number in range(exporter.PAGE + 25):
        await tested.append_now(event(number))
    await tested.settle()
    async with tested.factory() as session:
        plan = await exporter.plan_export(tested.log, session)
    chunks = [chunk async for chunk in exporter.stream_bundle(plan, tested.factory)]
    assert len(chunks) >= 6  # header, two entry pages, separator, two leaf pages, end
    assert max(len(chunk) for chunk in chunks) < 1_000_000
    bundle = json.loads(b"".join(chunks))
    assert len(bundle["entries"]) == exporter.PAGE + 25
    assert verify_bundle(bundle).ok


@pytest.fixture
async def read_only_factory(database_url: str, engine: AsyncEngine) -> AsyncIterator[async_sessionmaker]:
    """Sessions on the same database through a connection that can read but not write the audit tables."""
    if database_url.startswith("sqlite"):
        path = database_url.split(":///", 1)[1]
        ro_engine = create_async_engine(f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true")
        yield async_sessionmaker(ro_engine)
        await ro_engine.dispose()
        return
    role = f"audit_ro_{secrets.token_hex(4)}"
    await raw(engine, f"CREATE ROLE {role} NOLOGIN")
    await raw(
        engine, f"GRANT SELECT ON audit_queue, audit_entries, audit_tree_nodes, audit_head, audit_checkpoints TO {role}"
    )
    # The role is a startup parameter, so it holds for the whole connection whatever transactions roll back.
    ro_engine = create_async_engine(database_url, connect_args={"server_settings": {"role": role}})
    yield async_sessionmaker(ro_engine)
    await ro_engine.dispose()
    await raw(engine, f"DROP OWNED BY {role}")
    await raw(engine, f"DROP ROLE {role}")


async def test_queueing_fails_closed_when_the_database_refuses_writes(tested: LogUnderTest, read_only_factory) -> None:
    await fill(tested, 2)
    async with read_only_factory() as session:
        with pytest.raises(AuditUnavailable) as refused:
            await tested.log.queue(session, event(10))
        assert isinstance(refused.value.__cause__, SQLAlchemyError)
        await session.rollback()  # the caller's transaction is lost with its audit entry
        assert len(await tested.log.entries(session)) == 2


async def test_queueing_fails_closed_when_the_database_is_down(database_url: str, tmp_path: Path) -> None:
    url = (
        f"sqlite+aiosqlite:///{tmp_path}/missing/dir/a.db"
        if database_url.startswith("sqlite")
        else "postgresql+asyncpg://nobody@127.0.0.1:1/none"
    )
    down = create_async_engine(url)
    try:
        with pytest.raises(AuditUnavailable):
            await new_log(async_sessionmaker(down)).append_now(event(0))
    finally:
        await down.dispose()


async def test_a_taken_sequence_number_fails_the_batch_and_loses_nothing(tested: LogUnderTest, engine) -> None:
    await fill(tested, 3)
    await raw(
        engine,
        "INSERT INTO audit_entries (seq, time, canonical, leaf_hash, action, outcome) "
        "SELECT 3, time, canonical, leaf_hash, action, outcome FROM audit_entries WHERE seq = 2",
    )
    queue_id = await tested.append_now(event(3))
    with pytest.raises(AuditConflict):
        await tested.integrator.integrate_once()
    async with tested.factory() as session:
        assert (await tested.log.tree_head(session))[0] == 3  # the tree did not grow under a duplicate number
        assert (await tested.log.status(session, queue_id)).state == "pending"  # still queued, not lost
        assert await session.scalar(select(AuditQueueRow.id)) == queue_id
