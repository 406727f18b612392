"""Tampering with the audit tables directly in the database is caught offline, at the right index."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import pytest
import rfc8785
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.integration.test_audit_support import LogUnderTest, export, fill, new_log, raw, sign
from vault.audit import merkle, tree_store
from vault.audit.verify import verify_bundle

SIZE = 20
Tamper = Callable[[AsyncEngine], Awaitable[None]]


@pytest.fixture
async def log(factory: async_sessionmaker[AsyncSession]) -> LogUnderTest:
    """A log of 20 entries with signed checkpoints at sizes 8 and 20."""
    tested = new_log(factory)
    await fill(tested, 8)
    await sign(tested)
    await fill(tested, SIZE - 8)
    await sign(tested)
    return tested


async def _canonical(engine: AsyncEngine, seq: int) -> dict:
    (row,) = await raw(engine, "SELECT canonical FROM audit_entries WHERE seq = :seq", seq=seq)
    return json.loads(bytes(row[0]))


async def _set_canonical(engine: AsyncEngine, seq: int, record: dict) -> None:
    await raw(engine, "UPDATE audit_entries SET canonical = :c WHERE seq = :seq", c=rfc8785.dumps(record), seq=seq)


async def edit_action(engine: AsyncEngine) -> None:
    record = await _canonical(engine, 5)
    record["action"] = "document.read"
    await _set_canonical(engine, 5, record)


async def edit_seq_inside(engine: AsyncEngine) -> None:
    record = await _canonical(engine, 5)
    record["seq"] = 6
    await _set_canonical(engine, 5, record)


async def backdate(engine: AsyncEngine) -> None:
    record = await _canonical(engine, 8)
    record["time"] = "2001-01-01T00:00:00.000000Z"
    await _set_canonical(engine, 8, record)


async def delete_row(engine: AsyncEngine) -> None:
    await raw(engine, "DELETE FROM audit_entries WHERE seq = 5")


async def insert_row(engine: AsyncEngine) -> None:
    await raw(engine, "UPDATE audit_entries SET seq = seq + 1000 WHERE seq >= 5")
    await raw(engine, "UPDATE audit_entries SET seq = seq - 999 WHERE seq >= 1000")
    forged = await _canonical(engine, 4)
    forged["seq"] = 5
    canonical = rfc8785.dumps(forged)
    await raw(
        engine,
        "INSERT INTO audit_entries (seq, time, canonical, leaf_hash, action, outcome, actor_ref) "
        "SELECT 5, time, :c, :h, action, outcome, actor_ref FROM audit_entries WHERE seq = 4",
        c=canonical,
        h=merkle.leaf_hash(canonical),
    )


async def swap_rows(engine: AsyncEngine) -> None:
    await raw(engine, "UPDATE audit_entries SET seq = -1 WHERE seq = 3")
    await raw(engine, "UPDATE audit_entries SET seq = 3 WHERE seq = 6")
    await raw(engine, "UPDATE audit_entries SET seq = 6 WHERE seq = -1")


async def swap_contents(engine: AsyncEngine) -> None:
    three, six = await _canonical(engine, 3), await _canonical(engine, 6)
    three["seq"], six["seq"] = 6, 3
    await _set_canonical(engine, 3, six)
    await _set_canonical(engine, 6, three)


async def edit_filter_column(engine: AsyncEngine) -> None:
    await raw(engine, "UPDATE audit_entries SET actor_ref = 'someone-else' WHERE seq = 11")


async def truncate_tail(engine: AsyncEngine) -> None:
    await raw(engine, "DELETE FROM audit_entries WHERE seq >= 15")


@pytest.mark.parametrize(
    ("tamper", "first_bad"),
    [
        (edit_action, 5),
        (edit_seq_inside, 5),
        (backdate, 8),
        (delete_row, 5),
        (insert_row, 5),
        (swap_rows, 3),
        (swap_contents, 3),
        (edit_filter_column, 11),
        (truncate_tail, 15),
    ],
)
async def test_tampering_is_caught_at_the_first_bad_index(
    log: LogUnderTest, engine: AsyncEngine, tamper: Tamper, first_bad: int
) -> None:
    assert verify_bundle(await export(log)).ok
    await tamper(engine)
    verdict = verify_bundle(await export(log))
    assert not verdict.ok
    assert verdict.first_bad_index == first_bad, verdict.problem
    assert verdict.checked_entries == first_bad


async def test_a_truncation_hidden_by_deleting_checkpoints_is_caught_with_the_old_checkpoint(
    log: LogUnderTest, engine: AsyncEngine
) -> None:
    old = await export(log)
    await raw(engine, "DELETE FROM audit_entries WHERE seq >= 15")
    await raw(engine, "DELETE FROM audit_checkpoints WHERE tree_size > 8")
    await raw(engine, "DELETE FROM audit_head")  # its signed size would give the truncation away at once
    for level in range(6):
        await raw(engine, "DELETE FROM audit_tree_nodes WHERE level = :l AND (idx + 1) * :w > 15", l=level, w=2**level)
    async with log.factory() as session:
        assert await log.log.tree_size(session) == 15
    # The database alone now looks fine up to its last checkpoint...
    assert verify_bundle(await export(log)).ok
    # ...but the auditor still holds the checkpoint of size 20 from the earlier export.
    again = await export(log, end=SIZE)
    again["checkpoints"].append(old["checkpoints"][-1])
    verdict = verify_bundle(again)
    assert (verdict.ok, verdict.first_bad_index) == (False, 15), verdict.problem


async def test_a_rewrite_that_also_rebuilds_the_tree_fails_at_the_last_trustworthy_checkpoint(
    log: LogUnderTest, engine: AsyncEngine
) -> None:
    record = await _canonical(engine, 12)
    record["outcome"] = "denied"
    await _set_canonical(engine, 12, record)
    await raw(engine, "DELETE FROM audit_tree_nodes")
    async with log.factory() as session, session.begin():
        leaves = []
        for seq in range(SIZE):
            canonical = bytes((await raw(engine, "SELECT canonical FROM audit_entries WHERE seq = :s", s=seq))[0][0])
            leaves.append(merkle.leaf_hash(canonical))
        await tree_store.extend(session, merkle.CompactRange(), leaves)
    verdict = verify_bundle(await export(log))
    assert not verdict.ok
    assert verdict.first_bad_index == 8  # entries 0..7 still reproduce the signed checkpoint of size 8
    assert "do not reproduce signed checkpoint 20" in str(verdict.problem)


async def test_a_forged_checkpoint_or_consistency_proof_is_refused(log: LogUnderTest) -> None:
    bundle = await export(log)
    forged_note = dict(
        bundle,
        checkpoints=[dict(bundle["checkpoints"][0], note=bundle["checkpoints"][0]["note"].replace("\n8\n", "\n7\n"))],
    )
    assert "signature" in str(verify_bundle(forged_note).problem)
    proof = bundle["consistency_proofs"][0]
    broken = dict(bundle, consistency_proofs=[dict(proof, proof=list(reversed(proof["proof"])))])
    assert "inconsistent" in str(verify_bundle(broken).problem)
    assert not verify_bundle(dict(bundle, checkpoints=[])).ok
