"""Erasing a citizen's account: every document crypto-shredded (subject keys destroyed first), shares gone, other
citizens untouched, the audit log still verifies and the erased citizen's pseudonym is no longer derivable."""

from __future__ import annotations

import os
from pathlib import Path

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from tests.support.api import DOCS, DevTokens, assert_problem, make_link, share, subject, upload
from tests.support.vault_app import run_in_app
from vault.accounts.models import Account, SubjectKey
from vault.app import services_of
from vault.audit.models import AuditEntryRow
from vault.audit.verify import verify_bundle
from vault.documents.models import Document, DocumentVersion
from vault.settings import Settings

ERASE = "/api/v1/me?confirm=erase-my-account"


def _objects(settings: Settings) -> list[Path]:
    return [p for p in (settings.resolved_data_dir / "objects").rglob("*") if p.is_file()]


def _rows(client: TestClient[Litestar], subject: str) -> tuple[int, int, int, set[str | None]]:
    """What the database holds of `subject`: accounts, subject keys, document versions (with their wrapped data
    keys), and every owner pseudonym in the log."""

    async def read() -> tuple[int, int, int, set[str | None]]:
        await services_of(client.app).events.integrator.settle()  # what was queued so far gets its place
        async with services_of(client.app).db.sessions() as session:
            ids = list(await session.scalars(select(Account.id).where(Account.subject == subject)))
            keys = len((await session.scalars(select(SubjectKey).where(SubjectKey.account_id.in_(ids)))).all())
            versions = len(
                (
                    await session.scalars(
                        select(DocumentVersion.wrapped_dek)
                        .join(Document, Document.id == DocumentVersion.document_id)
                        .where(Document.owner_id.in_(ids))
                    )
                ).all()
            )
            refs = set((await session.scalars(select(AuditEntryRow.owner_ref))).all())
            return len(ids), keys, versions, refs

    return run_in_app(client, read)


def test_erasing_an_account_shreds_everything_and_keeps_the_log_verifiable(
    client: TestClient[Litestar], as_user: DevTokens, settings: Settings
) -> None:
    alice, bob = as_user("alice"), as_user("bob")
    first = upload(client, alice, os.urandom(80_000))
    upload(client, alice, b"second document")
    share(client, alice, first["id"], agency="tax-office")
    link = make_link(client, alice, first["id"])
    bobs = upload(client, bob, b"bob keeps this")
    assert len(_objects(settings)) == 3
    assert _rows(client, subject("alice"))[:3] == (1, 1, 2)
    _, _, _, refs_before = _rows(client, subject("alice"))

    assert_problem(client.delete("/api/v1/me", headers=alice), 400)  # irreversible: needs the confirmation
    assert client.delete(ERASE, headers=alice).status_code == 204

    assert len(_objects(settings)) == 1
    assert_problem(client.get(f"{DOCS}/{first['id']}", headers=as_user("olga")), 404)
    assert client.post(f"/s/{link['token']}").status_code in {404, 410}
    assert client.get(DOCS, headers=alice).json()["items"] == []
    assert client.get(f"{DOCS}/{bobs['id']}/content", headers=bob).content == b"bob keeps this"
    accounts, keys, versions, refs_after = _rows(client, subject("alice"))
    assert (accounts, keys, versions) == (0, 0, 0)  # no account, no subject key, no version row or wrapped key
    assert _rows(client, subject("bob"))[:3] == (1, 1, 1)
    assert refs_before <= refs_after  # the erased citizen's entries stay, under the old pseudonym

    # alice comes back: a new account, a new key, a pseudonym nobody can link to the old one
    upload(client, alice, b"a fresh start")
    _, _, _, refs_now = _rows(client, subject("alice"))
    assert len(refs_now - refs_after) == 1

    auditor = as_user("audrey")
    assert client.post("/api/v1/audit/checkpoints", headers=auditor).status_code == 201
    bundle = client.get("/api/v1/audit/export", headers=auditor).json()
    key = client.get("/api/v1/audit/key").json()["note_verifier"]
    assert verify_bundle(bundle, trusted_key=key).ok
    assert any(e["columns"]["action"] == "account.erase" for e in bundle["entries"])


def test_legal_hold_blocks_erasure_until_lifted(
    client: TestClient[Litestar], as_user: DevTokens, settings: Settings
) -> None:
    doc = upload(client, as_user("alice"), b"evidence")
    alice_subject = client.get("/api/v1/me", headers=as_user("alice")).json()["subject"]
    hold = f"/api/v1/admin/legal-holds/{alice_subject}"
    body = {"hold": True, "reason": "court order 12/2026"}
    assert_problem(client.put(hold, json=body, headers=as_user("audrey")), 403)
    assert_problem(client.put("/api/v1/admin/legal-holds/nobody", json=body, headers=as_user("admin")), 404)
    assert client.put(hold, json=body, headers=as_user("admin")).json() == {"subject": alice_subject, "hold": True}
    assert_problem(client.delete(ERASE, headers=as_user("alice")), 409)
    assert_problem(client.delete(f"{DOCS}/{doc['id']}", headers=as_user("alice")), 409)
    assert client.get(f"{DOCS}/{doc['id']}/content", headers=as_user("alice")).content == b"evidence"
    assert len(_objects(settings)) == 1
    lifted = client.put(hold, json={"hold": False, "reason": "case closed"}, headers=as_user("admin"))
    assert lifted.json()["hold"] is False
    assert client.delete(ERASE, headers=as_user("alice")).status_code == 204
    assert _objects(settings) == []


def test_only_citizens_erase_accounts(client: TestClient[Litestar], as_user: DevTokens) -> None:
    assert_problem(client.delete(ERASE, headers=as_user("olga")), 403)
    assert_problem(client.delete(ERASE), 401)
    # bob signed in (so the directory knows him) but stored nothing: his account is erased all the same
    assert client.delete(ERASE, headers=as_user("bob")).status_code == 204
