"""Issue 12: after a mixed load on two instances (one PostgreSQL database, one SeaweedFS bucket, one keyring) the
audit log is gap-free and `vault audit verify` accepts its export. A short run of `bench/mixed_load.py`'s load;
correctness only (the rates are the bench's)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services.oidc_provider import OidcProvider
from tests.services.seaweedfs import S3Server
from tests.support.cluster import Cluster, cluster
from tests.support.mixed_load import check_log, drive

pytestmark = [pytest.mark.system, pytest.mark.postgres, pytest.mark.s3, pytest.mark.oidc]


@pytest.fixture
def deployment(tmp_path: Path, database: str, s3_server: S3Server, oidc_provider: OidcProvider) -> Iterator[Cluster]:
    shared = {
        "VAULT_DATABASE_URL": database,
        "VAULT_STORAGE_URL": s3_server.url(f"mixed-{secrets.token_hex(4)}"),
        "VAULT_KEY_PROVIDER": f"local:{tmp_path / 'keyring.json'}?create=true",
        "VAULT_OIDC_ISSUER": oidc_provider.issuer,
        "VAULT_OIDC_AUDIENCE": oidc_provider.audience,
    }
    with cluster(tmp_path, shared) as running:
        yield running


def test_mixed_load_on_two_instances_leaves_a_gap_free_verifiable_log(
    deployment: Cluster, oidc_provider: OidcProvider, tmp_path: Path
) -> None:
    tokens = {p: oidc_provider.token(p) for p in ("citizen-a", "citizen-b", "agency-x", "auditor")}
    load = drive(deployment, tokens, seconds=10, workers=8, sign_every=4)

    assert not load.errors, load.errors[:5]
    assert not [key for key in load.counts if key[1] >= 500], load.counts
    assert not load.unexpected(), (load.unexpected(), load.samples)
    kinds = {kind for (kind, status) in load.counts if 200 <= status < 300}
    assert {"upload", "metadata", "download", "version", "grant", "agency_read", "link", "sign"} <= kinds, kinds
    assert set(load.by_instance) == {instance.url for instance in deployment.instances}, load.by_instance
    log = check_log(deployment, tokens["auditor"], tmp_path, deadline=30)
    assert log.settled_after is not None, "entries still queued 30 s after the load"
    assert log.contiguous
    uploads = sum(n for (kind, status), n in load.counts.items() if kind == "upload" and status == 201)
    assert log.entries - load.entries_before >= uploads  # each upload appends at least its own entry
    assert log.verify_exit == 0, log.verify_output
    assert log.verify_output.startswith("OK"), log.verify_output
