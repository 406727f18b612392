"""The audit log on SQLite and PostgreSQL: appends, queries, proofs, checkpoints, export and failing closed."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from tests.integration.test_audit_support import (
    ORIGIN,
    StepClock,
    event,
    export,
    fill,
    new_log,
    raw,
    sign,
)
from vault.audit import (
    AuditConflict,
    AuditLog,
    AuditUnavailable,
    merkle,
    public_key_note_verifier,
    run_periodic_checkpoints,
)
from vault.audit.note import open_checkpoint
from vault.audit.verify import main as verify_main
from vault.audit.verify import verify_bundle


@pytest.fixture
def log() -> AuditLog:
    return new_log()


async def test_appends_are_contiguous_and_match_the_in_memory_tree(log: AuditLog, factory) -> None:
    seqs = [await log.append_now(factory, event(n)) for n in range(37)]
    assert seqs == list(range(37))
    async with factory() as session:
        entries = await log.entries(session, limit=1000)
        leaves = [merkle.leaf_hash(entry.canonical) for entry in entries]
        assert [entry.leaf_hash for entry in entries] == leaves
        assert [entry.record["seq"] for entry in entries] == seqs
        for size in (1, 2, 5, 8, 16, 17, 37):
            assert await log.tree_head(session, size) == (size, merkle.root(leaves[:size]))
            for index in range(size):
                assert await log.inclusion_proof(session, index, size) == merkle.inclusion_proof(index, leaves[:size])
        for first in range(38):
            assert await log.consistency_proof(session, first, 37) == merkle.consistency_proof(first, leaves)


async def test_an_append_commits_or_rolls_back_with_the_callers_transaction(log: AuditLog, factory) -> None:
    async with factory() as session:
        async with session.begin():
            assert await log.append(session, event(0)) == 0
        async with session.begin():
            assert await log.append(session, event(1, action="document.erase")) == 1
            await session.rollback()
    assert await log.append_now(factory, event(2)) == 1
    async with factory() as session:
        assert [e.record["action"] for e in await log.entries(session)] == ["document.download"] * 2


async def test_entries_filter_on_indexed_columns(log: AuditLog, factory) -> None:
    document = uuid4()
    await fill(log, factory, 6)
    await log.append_now(factory, event(6, action="grant.create", owner_ref="p-1", document_id=document))
    await log.append_now(factory, event(7, action="link.use", owner_ref="p-1", actor_subject="bob"))
    async with factory() as session:
        by_owner = await log.entries(session, owner_ref="p-1")
        assert [e.seq for e in by_owner] == [6, 7]
        assert [e.seq for e in await log.entries(session, document_id=document)] == [6]
        assert [e.seq for e in await log.entries(session, actor_subject="bob")] == [7]
        assert [e.seq for e in await log.entries(session, action="grant.create", owner_ref="p-1")] == [6]
        assert [e.seq for e in await log.entries(session, start=2, limit=3)] == [2, 3, 4]
        assert by_owner[0].record["objects"]["document"] == str(document)


async def test_entry_times_never_go_backwards_even_when_the_clock_does(factory) -> None:
    clock = StepClock()
    log = AuditLog(ORIGIN, new_log().signing_key, clock=clock)
    await fill(log, factory, 2)
    clock.now -= clock.now - clock.now.replace(year=2020)
    await fill(log, factory, 2)
    async with factory() as session:
        times = [e.record["time"] for e in await log.entries(session)]
    assert times == sorted(times)
    assert times[2] == times[1]


async def test_checkpoints_are_signed_notes_reused_until_the_tree_grows(log: AuditLog, factory) -> None:
    async with factory() as session:
        assert await log.latest_checkpoint(session) is None
    await fill(log, factory, 5)
    async with factory() as session, session.begin():
        first = await log.checkpoint(session)
        again = await log.checkpoint(session)
    assert again.note == first.note
    body = open_checkpoint(first.note, ORIGIN, log.signing_key.public_key())
    assert (body.tree_size, body.root_hash) == (5, first.root_hash)
    await fill(log, factory, 1)
    await sign(log, factory)
    async with factory() as session:
        latest = await log.latest_checkpoint(session)
        assert latest is not None
        assert latest.tree_size == 6
        proof = await log.consistency_proof(session, 5, 6)
    assert merkle.verify_consistency(5, 6, proof, first.root_hash, latest.root_hash)


@pytest.mark.parametrize(("seq", "size"), [(5, 5), (0, 7), (-1, 3)])
async def test_proofs_outside_the_log_are_refused(log: AuditLog, factory, seq: int, size: int) -> None:
    await fill(log, factory, 5)
    async with factory() as session:
        with pytest.raises(ValueError):
            await log.inclusion_proof(session, seq, size)
        with pytest.raises(ValueError):
            await log.consistency_proof(session, 3, 6)


async def test_an_untouched_export_verifies_offline(log: AuditLog, factory, tmp_path: Path) -> None:
    await fill(log, factory, 9)
    await sign(log, factory)
    await fill(log, factory, 12)
    await sign(log, factory)
    await fill(log, factory, 2)  # not yet checkpointed: left out of the export
    bundle = await export(log, factory)
    assert (bundle["start"], bundle["end"], len(bundle["checkpoints"])) == (0, 21, 2)
    verifier = public_key_note_verifier(ORIGIN, log.signing_key)
    assert verify_bundle(bundle, trusted_key=verifier).ok
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    assert verify_main([str(path), "--key", verifier]) == 0
    assert verify_main([str(path), "--key", public_key_note_verifier(ORIGIN, new_log().signing_key)]) == 1


async def test_a_partial_export_verifies_from_its_prefix(log: AuditLog, factory) -> None:
    await fill(log, factory, 13)
    await sign(log, factory)
    await fill(log, factory, 10)
    await sign(log, factory)
    bundle = await export(log, factory, start=13)
    assert [e["seq"] for e in bundle["entries"]] == list(range(13, 23))
    verdict = verify_bundle(bundle)
    assert (verdict.ok, verdict.checked_entries) == (True, 10)
    bundle["prefix"][0] = bundle["prefix"][1]
    assert not verify_bundle(bundle).ok


async def test_periodic_checkpoints_sign_the_tree_until_stopped(log: AuditLog, factory) -> None:
    await fill(log, factory, 3)
    stop = asyncio.Event()
    task = asyncio.create_task(run_periodic_checkpoints(log, factory, 3600, stop))
    stop.set()
    await asyncio.wait_for(task, timeout=30)
    async with factory() as session:
        latest = await log.latest_checkpoint(session)
    assert latest is not None
    assert latest.tree_size == 3


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
    await raw(engine, f"GRANT SELECT ON audit_entries, audit_tree_nodes, audit_checkpoints TO {role}")
    # The role is a startup parameter, so it holds for the whole connection whatever transactions roll back.
    ro_engine = create_async_engine(database_url, connect_args={"server_settings": {"role": role}})
    yield async_sessionmaker(ro_engine)
    await ro_engine.dispose()
    await raw(engine, f"DROP OWNED BY {role}")
    await raw(engine, f"DROP ROLE {role}")


async def test_append_fails_closed_when_the_database_refuses_writes(log: AuditLog, factory, read_only_factory) -> None:
    await fill(log, factory, 2)
    with pytest.raises(AuditUnavailable) as refused:
        await log.append_now(read_only_factory, event(9))
    assert isinstance(refused.value.__cause__, SQLAlchemyError)
    async with read_only_factory() as session:
        with pytest.raises(AuditUnavailable):
            await log.append(session, event(10))
        await session.rollback()  # the caller's transaction is lost with its audit entry
        assert len(await log.entries(session)) == 2


async def test_append_fails_closed_when_the_database_is_down(log: AuditLog, database_url: str, tmp_path: Path) -> None:
    url = (
        f"sqlite+aiosqlite:///{tmp_path}/missing/dir/a.db"
        if database_url.startswith("sqlite")
        else "postgresql+asyncpg://nobody@127.0.0.1:1/none"
    )
    down = create_async_engine(url)
    try:
        with pytest.raises(AuditUnavailable):
            await log.append_now(async_sessionmaker(down), event(0))
    finally:
        await down.dispose()


async def test_a_taken_sequence_number_fails_closed_instead_of_forking(log: AuditLog, factory, engine) -> None:
    await fill(log, factory, 3)
    await raw(
        engine,
        "INSERT INTO audit_entries (seq, time, canonical, leaf_hash, action, outcome) "
        "SELECT 3, time, canonical, leaf_hash, action, outcome FROM audit_entries WHERE seq = 2",
    )
    with pytest.raises(AuditConflict):
        await log.append_now(factory, event(3))
    async with factory() as session:
        size, _ = await log.tree_head(session)
    assert size == 3  # the tree did not grow: nothing was appended under a duplicate number
