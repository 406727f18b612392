"""The audit log inside the running service: the integrator loop the lifespan starts, queue status, checkpoints
on demand, and the offline verifier run on a real export without loading a database or web library."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from litestar import Litestar
from litestar.testing import TestClient

from tests.support.api import DevTokens, upload
from tests.support.vault_app import run_in_app, settle_audit
from vault.app import services_of
from vault.audit import AuditAction, Outcome
from vault.audit.queue import QueueStatus

AUDIT = "/api/v1/audit"


def test_the_lifespan_integrator_sequences_queued_entries_by_itself(client: TestClient[Litestar]) -> None:
    events = services_of(client.app).events

    async def queue_and_wait() -> list[QueueStatus]:
        queue_ids = [
            await events.append_now(events.event(AuditAction.KEYS_ROTATE, Outcome.SUCCESS, None, details={"n": n}))
            for n in range(5)
        ]

        async def sequenced() -> list[QueueStatus]:
            while True:  # nobody calls settle here: only the running loop can sequence them
                states = [await events.status(queue_id) for queue_id in queue_ids]
                if all(state.state == "sequenced" for state in states):
                    return states
                await asyncio.sleep(0.02)

        return await asyncio.wait_for(sequenced(), timeout=30)

    states = run_in_app(client, queue_and_wait)
    seqs = [state.seq for state in states]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 5


def test_an_auditor_asks_whether_an_entry_is_sequenced(client: TestClient[Litestar], as_user: DevTokens) -> None:
    events = services_of(client.app).events
    queue_id = run_in_app(
        client, lambda: events.append_now(events.event(AuditAction.AUTH_LOGIN, Outcome.SUCCESS, None))
    )
    status = client.get(f"{AUDIT}/queue/{queue_id}", headers=as_user("audrey"))
    assert status.status_code == 200, status.text
    body = status.json()
    assert (body["queue_id"], body["state"]) == (queue_id, "sequenced")  # auditor reads wait for what came before
    entry = client.get(f"{AUDIT}/entries", headers=as_user("audrey"), params={"start": body["seq"], "limit": 1})
    assert entry.json()[0]["record"]["action"] == "auth.login"
    unknown = client.get(f"{AUDIT}/queue/{queue_id + 10_000}", headers=as_user("audrey")).json()
    assert (unknown["state"], unknown["seq"]) == ("unknown", None)
    assert client.get(f"{AUDIT}/queue/{queue_id}", headers=as_user("alice")).status_code == 403


def test_auditors_and_admins_keep_checkpoints_on_demand(client: TestClient[Litestar], as_user: DevTokens) -> None:
    for user in ("audrey", "admin"):
        kept = client.post(f"{AUDIT}/checkpoints", headers=as_user(user))
        assert kept.status_code == 201, (user, kept.text)
    assert client.post(f"{AUDIT}/checkpoints", headers=as_user("alice")).status_code == 403
    latest = client.get(f"{AUDIT}/checkpoint", headers=as_user("audrey")).json()
    assert latest["tree_size"] >= kept.json()["tree_size"]


def test_out_of_range_proofs_and_exports_are_bad_requests(client: TestClient[Litestar], as_user: DevTokens) -> None:
    auditor = as_user("audrey")
    assert client.get(f"{AUDIT}/proofs/inclusion", headers=auditor, params={"seq": 0, "size": 10**6}).status_code == 400
    assert (
        client.get(f"{AUDIT}/proofs/consistency", headers=auditor, params={"first": 1, "second": 10**6}).status_code
        == 400
    )
    assert client.get(f"{AUDIT}/export", headers=auditor, params={"start": 10**6}).status_code == 400
    # an end far past the log (the fuzzer's 74 million) costs what the log holds, not a query per empty page;
    # it stays allowed: an auditor with an older, larger checkpoint asks up to its size to catch a truncation
    upload(client, as_user("alice"), b"an entry or two for the log")
    settle_audit(client)
    beyond = client.get(f"{AUDIT}/export", headers=auditor, params={"end": 74_511_077}, timeout=30)
    assert beyond.status_code == 200
    bundle = beyond.json()
    assert bundle["end"] == 74_511_077
    assert 0 < len(bundle["entries"]) == len(bundle["tree_leaf_hashes"]) < 1000


_PURITY_PROBE = """
import sys
{entry}
loaded = sorted(m for m in ("sqlalchemy", "litestar", "advanced_alchemy", "asyncpg", "aiosqlite") if m in sys.modules)
print(rc, ",".join(loaded) or "-")
"""


def test_the_offline_verifier_runs_on_a_real_export_without_database_or_web_libraries(
    client: TestClient[Litestar], as_user: DevTokens, tmp_path: Path
) -> None:
    events = services_of(client.app).events
    for n in range(3):
        run_in_app(
            client,
            lambda n=n: events.append_now(
                events.event(AuditAction.DOCUMENT_READ, Outcome.SUCCESS, None, details={"n": n})
            ),
        )
    auditor = as_user("audrey")
    assert client.post(f"{AUDIT}/checkpoints", headers=auditor).status_code == 201
    bundle = tmp_path / "bundle.json"
    bundle.write_bytes(client.get(f"{AUDIT}/export", headers=auditor).content)
    assert len(json.loads(bundle.read_bytes())["entries"]) >= 3
    key = client.get(f"{AUDIT}/key").json()["note_verifier"]
    entries = {
        "module": f"from vault.audit.verify import main\nrc = main([{str(bundle)!r}, '--key', {key!r}])",
        "cli": f"from vault.cli import main\nrc = main(['audit', 'verify', {str(bundle)!r}, '--key', {key!r}])",
    }
    for name, entry in entries.items():
        probe = subprocess.run(
            [sys.executable, "-c", _PURITY_PROBE.format(entry=entry)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert probe.returncode == 0, (name, probe.stderr)
        *_, verdict = probe.stdout.strip().splitlines()
        assert verdict == "0 -", (name, probe.stdout)
