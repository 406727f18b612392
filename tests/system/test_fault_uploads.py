"""Uploads cut by a fault, on two instances behind nginx: the object store (SeaweedFS) killed mid-upload, and one
instance killed mid-upload. Clients get 503 problems (never 500, never a hang); no half-written document is ever
listed; after the sweep (run once per deployment) no incomplete upload and no orphaned object is left."""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.services.oidc_provider import OidcProvider
from tests.services.seaweedfs import S3Server
from tests.support.cluster import Cluster, Instance, bearer, cluster, problem, sql, store_contents

pytestmark = pytest.mark.system
DOCS = "/api/v1/documents"
MiB = 1024 * 1024
# the sweep every 2 s; uploads and objects with no committed version are stale after 3 s
SWEEP = {
    "VAULT_SWEEP_INTERVAL_SECONDS": "2",
    "VAULT_STALE_UPLOAD_SECONDS": "3",
    "VAULT_RECONCILE_AFTER_SECONDS": "3",
}


def _shared(tmp_path: Path, database: str, storage_url: str, oidc: OidcProvider) -> dict[str, str]:
    return {
        "VAULT_DATABASE_URL": database,
        "VAULT_STORAGE_URL": storage_url,
        "VAULT_KEY_PROVIDER": f"local:{tmp_path / 'keyring.json'}?create=true",
        "VAULT_OIDC_ISSUER": oidc.issuer,
        "VAULT_OIDC_AUDIENCE": oidc.audience,
        **SWEEP,
    }


def _headers(token: str) -> dict[str, str]:
    return {**bearer(token), "Content-Type": "application/octet-stream", "X-Document-Title": "Deed"}


def _upload(http: httpx.Client, token: str, data: bytes) -> httpx.Response:
    return http.post(DOCS, content=data, headers=_headers(token))


def _committed(database: str) -> tuple[int, set[str]]:
    documents = int(sql(database, "SELECT count(*) FROM documents"))
    keys = sql(database, "SELECT object_key FROM document_versions")
    return documents, set(keys.split()) if keys else set()


def _wait_until_clean(database: str, storage_url: str, timeout: float = 60) -> tuple[float, list[str], list[str]]:
    """Wait until the bucket holds exactly the committed objects and no incomplete upload; (seconds, objects,
    incomplete) at the end."""
    started = time.monotonic()
    while True:
        objects, incomplete = store_contents(storage_url)
        _, committed = _committed(database)
        if set(objects) == committed and not incomplete:
            return time.monotonic() - started, objects, incomplete
        if time.monotonic() - started > timeout:
            return time.monotonic() - started, objects, incomplete
        time.sleep(0.5)


def _next_upstream(deployment: Cluster, http: httpx.Client) -> int:
    """The index of the instance nginx sends the next request to (round robin: not the one that just answered)."""
    answered = http.get("/health").headers["X-Upstream"]
    ports = [instance.port for instance in deployment.instances]
    return next(i for i, port in enumerate(ports) if f"127.0.0.1:{port}" != answered)


@pytest.fixture
def store_fault_deployment(
    tmp_path: Path, database: str, throwaway_s3_server: S3Server, oidc_provider: OidcProvider
) -> Iterator[Cluster]:
    shared = _shared(tmp_path, database, throwaway_s3_server.url("vault-fault"), oidc_provider)
    with cluster(tmp_path, shared) as deployment:
        yield deployment


def test_store_killed_mid_upload(
    store_fault_deployment: Cluster, throwaway_s3_server: S3Server, oidc_provider: OidcProvider, database: str
) -> None:
    deployment, token = store_fault_deployment, oidc_provider.token("citizen-a")
    storage_url = deployment.env["VAULT_STORAGE_URL"]
    with deployment.client(timeout=120) as http:
        warm = os.urandom(MiB)
        created = _upload(http, token, warm)
        assert created.status_code == 201, created.text
        kept = created.json()["id"]
        killed_at: list[float] = []

        def body() -> Iterator[bytes]:
            for i in range(40):  # 40 MiB: several multipart parts, the store killed after 20
                if i == 20:
                    throwaway_s3_server.stop()
                    killed_at.append(time.monotonic())
                yield os.urandom(MiB)

        cut = http.post(DOCS, content=body(), headers=_headers(token))
        answered_after = time.monotonic() - killed_at[0]
        problem(cut, 503)
        # while the store is down: reads are 503 problems on both instances, /ready says why
        downloads = [http.get(f"{DOCS}/{kept}/content", headers=bearer(token)) for _ in range(2)]
        for response in downloads:
            problem(response, 503)
            assert warm[:256] not in response.content
        readiness = []
        for instance in deployment.instances:
            with instance.client() as direct:
                readiness.append(direct.get("/ready"))
        assert [r.status_code for r in readiness] == [503, 503]
        assert {r.json()["checks"]["object_store"] for r in readiness} == {"unavailable"}
        listing = http.get(DOCS, headers=bearer(token)).json()["items"]
        assert [d["id"] for d in listing] == [kept]  # no half-written document
        assert _committed(database)[0] == 1

        restarting = time.monotonic()
        throwaway_s3_server.start()
        back = time.monotonic()
        left_objects, left_incomplete = store_contents(storage_url)
        recovered_after = None
        while time.monotonic() - back < 60:
            # two uploads through nginx: one on each instance
            results = [_upload(http, token, os.urandom(100_000)).status_code for _ in range(2)]
            if results == [201, 201]:
                recovered_after = time.monotonic() - back
                break
            time.sleep(0.25)
        assert recovered_after is not None
        assert http.get(f"{DOCS}/{kept}/content", headers=bearer(token)).content == warm
    swept_after, objects, incomplete = _wait_until_clean(database, storage_url)
    print(
        f"\nFAULT store killed mid-upload: 503 problem {answered_after:.2f} s after the kill; downloads 503;"
        f" both instances serve uploads {recovered_after:.2f} s after the store is back (restart itself not"
        f" counted: {back - restarting:.1f} s); left before the sweep: {len(left_incomplete)} incomplete upload(s),"
        f" {len(set(left_objects) - _committed(database)[1])} orphan(s); bucket clean {swept_after:.2f} s after that"
        f" ({len(objects)} objects, {len(incomplete)} incomplete)"
    )
    assert not incomplete
    assert set(objects) == _committed(database)[1]
    assert _committed(database)[0] == 3


@pytest.fixture
def instance_fault_deployment(
    tmp_path: Path, database: str, s3_server: S3Server, oidc_provider: OidcProvider
) -> Iterator[Cluster]:
    shared = _shared(tmp_path, database, s3_server.url(f"instance-fault-{secrets.token_hex(4)}"), oidc_provider)
    with cluster(tmp_path, shared) as deployment:
        yield deployment


def test_instance_killed_mid_upload(
    instance_fault_deployment: Cluster, oidc_provider: OidcProvider, database: str
) -> None:
    deployment, token = instance_fault_deployment, oidc_provider.token("citizen-a")
    storage_url = deployment.env["VAULT_STORAGE_URL"]
    with deployment.client(timeout=120) as http:
        warm = os.urandom(MiB)
        created = _upload(http, token, warm)
        assert created.status_code == 201, created.text
        kept = created.json()["id"]
        victim = deployment.instances[_next_upstream(deployment, http)]
        survivor = next(i for i in deployment.instances if i is not victim)
        killed_at: list[float] = []

        def body() -> Iterator[bytes]:
            for i in range(40):
                if i == 20:  # 20 MiB in: the instance taking the upload dies (SIGKILL, no cleanup at all)
                    victim.kill()
                    killed_at.append(time.monotonic())
                yield os.urandom(MiB)

        try:
            cut: httpx.Response | Exception = http.post(DOCS, content=body(), headers=_headers(token))
        except httpx.HTTPError as exc:  # nginx may close while the body is still being sent
            cut = exc
        answered_after = time.monotonic() - killed_at[0]
        if isinstance(cut, httpx.Response):
            body_problem = problem(cut, 503)
            assert cut.headers["X-Upstream"].endswith(f":{victim.port}")
            seen = f"{cut.status_code} {body_problem['type'].rsplit('/', 1)[1]}"
        else:
            seen = f"connection closed ({type(cut).__name__})"
        left_objects, left_incomplete = store_contents(storage_url)
        # the deployment keeps serving: nginx skips the dead instance (a refused connection is retried elsewhere)
        after = []
        for _ in range(4):
            data = os.urandom(200_000)
            response = _upload(http, token, data)
            after.append(response.status_code)
            assert response.headers["X-Upstream"].endswith(f":{survivor.port}")
            got = http.get(f"{DOCS}/{response.json()['id']}/content", headers=bearer(token))
            assert hashlib.sha256(got.content).digest() == hashlib.sha256(data).digest()
        assert after == [201] * 4
        listing = http.get(DOCS, headers=bearer(token), params={"limit": 100}).json()["items"]
        assert len(listing) == 5  # the warm-up and the four after: nothing half-written
        assert kept in {d["id"] for d in listing}

    swept_after, objects, incomplete = _wait_until_clean(database, storage_url)
    restarted = time.monotonic()
    victim.start()
    restart_seconds = time.monotonic() - restarted
    with victim.client() as direct:
        assert direct.get(f"{DOCS}/{kept}/content", headers=bearer(token)).content == warm
    print(
        f"\nFAULT instance killed mid-upload: client saw {seen} {answered_after:.2f} s after the kill; the next"
        f" requests served by the other instance; left: {len(left_incomplete)} incomplete upload(s),"
        f" {len(set(left_objects) - _committed(database)[1])} orphan(s); bucket clean {swept_after:.2f} s later"
        f" ({len(objects)} objects, {len(incomplete)} incomplete);"
        f" the killed instance restarted and served in {restart_seconds:.2f} s"
    )
    assert not incomplete
    assert set(objects) == _committed(database)[1]


def _enforce_until(s3: S3Server, bucket: str, quota_mb: int, wanted: str, timeout: float = 90) -> str:
    """Set the bucket's quota and apply it until `weed shell` says the bucket changed to `wanted` (the master
    knows a bucket's size from volume heartbeats, so a quota below it bites within seconds, not at once)."""
    s3.shell(f"s3.bucket.quota -name={bucket} -op=set -sizeMB={quota_mb}\n")
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        printed = s3.shell("s3.bucket.quota.enforce -apply\n")
        if f"changing bucket {bucket} to {wanted}" in printed:
            return printed.strip()
        time.sleep(1)
    raise AssertionError(f"bucket {bucket} never became {wanted}: {s3.shell('s3.bucket.list')}")


def _ready(instance: Instance) -> int:
    with instance.client() as direct:
        return direct.get("/ready").status_code


@pytest.fixture
def full_store_deployment(
    tmp_path: Path, database: str, s3_server: S3Server, oidc_provider: OidcProvider
) -> Iterator[Cluster]:
    shared = _shared(tmp_path, database, s3_server.url(f"full-{secrets.token_hex(4)}"), oidc_provider)
    with cluster(tmp_path, shared) as deployment:
        yield deployment


def test_store_full(
    full_store_deployment: Cluster, s3_server: S3Server, oidc_provider: OidcProvider, database: str
) -> None:
    """The store stops taking writes because the bucket is over its quota (SeaweedFS `s3.bucket.quota` with
    `s3.bucket.quota.enforce`, which makes the bucket read-only; its S3 gateway then answers every write
    `InternalError`, HTTP 500, the same as a failing store). Uploads are 503 problems, /ready is 503 (the write
    probe), the S3 code is logged; existing documents still read; nothing half-made; after the quota is raised
    uploads work again and the sweep leaves exactly the committed objects."""
    deployment, token = full_store_deployment, oidc_provider.token("citizen-a")
    storage_url = deployment.env["VAULT_STORAGE_URL"]
    bucket = storage_url.rsplit("/", 1)[1]
    kept: dict[str, bytes] = {}
    with deployment.client(timeout=120) as http:
        for _ in range(3):
            data = os.urandom(MiB)
            created = _upload(http, token, data)
            assert created.status_code == 201, created.text
            kept[created.json()["id"]] = data
    filling = time.monotonic()
    enforced = _enforce_until(s3_server, bucket, 1, "read only")
    full_after = time.monotonic() - filling

    with deployment.client(timeout=120) as http:
        started = time.monotonic()
        small = [_upload(http, token, os.urandom(100_000)) for _ in range(2)]  # one on each instance
        small_seconds = (time.monotonic() - started) / 2
        big = _upload(http, token, os.urandom(20 * MiB))  # multipart
        everyone = {f"127.0.0.1:{i.port}" for i in deployment.instances}
        assert {r.headers["X-Upstream"] for r in small} == everyone
        for response in [*small, big]:
            assert problem(response, 503)["type"].endswith("/storage-unavailable")
        readiness = []
        for instance in deployment.instances:
            with instance.client() as direct:
                readiness.append(direct.get("/ready"))
        assert [r.status_code for r in readiness] == [503, 503]
        assert {r.json()["checks"]["object_store"] for r in readiness} == {"unavailable"}
        assert {r.json()["checks"]["database"] for r in readiness} == {"ok"}
        # reads go on, on both instances
        for doc_id, data in kept.items():
            for _ in range(2):
                assert http.get(f"{DOCS}/{doc_id}/content", headers=bearer(token)).content == data
        listing = http.get(DOCS, headers=bearer(token)).json()["items"]
        assert {d["id"] for d in listing} == set(kept)  # no half-made document
    assert _committed(database)[0] == 3
    logged = [
        line for i in deployment.instances for line in i.log().splitlines() if "S3 " in line and " failed:" in line
    ]
    assert any("InternalError (HTTP 500)" in line for line in logged), logged
    left_objects, left_incomplete = store_contents(storage_url)

    freeing = time.monotonic()
    writable = _enforce_until(s3_server, bucket, 1024, "writable")
    shell_seconds = time.monotonic() - freeing
    back = time.monotonic()
    recovered_after = ready_after = None
    with deployment.client(timeout=120) as http:
        while time.monotonic() - back < 60:
            if [_upload(http, token, os.urandom(100_000)).status_code for _ in range(2)] == [201, 201]:
                recovered_after = time.monotonic() - back
                break
            time.sleep(0.1)
        while time.monotonic() - back < 60:
            if {_ready(instance) for instance in deployment.instances} == {200}:
                ready_after = time.monotonic() - back
                break
            time.sleep(0.1)
        assert recovered_after is not None
        assert ready_after is not None
        after = os.urandom(20 * MiB)
        created = _upload(http, token, after)
        assert created.status_code == 201, created.text
        assert http.get(f"{DOCS}/{created.json()['id']}/content", headers=bearer(token)).content == after
    swept_after, objects, incomplete = _wait_until_clean(database, storage_url)
    codes = sorted({"S3 " + line.split("S3 ", 1)[1].strip() for line in logged})
    print(
        f"\nFAULT store full (bucket quota enforced: {enforced.splitlines()[-1].strip()!r}, {full_after:.1f} s after"
        f" the quota was set): uploads 503 storage-unavailable ({small_seconds:.2f} s each), a 20 MiB multipart"
        f" upload 503; /ready 503 on both; logged {codes}; reads 200; left: {len(left_incomplete)} incomplete"
        f" upload(s), {len(set(left_objects) - _committed(database)[1])} orphan(s); uploads on both instances"
        f" {recovered_after:.2f} s and /ready 200 on both {ready_after:.2f} s after the bucket is writable again"
        f" (weed shell itself {shell_seconds:.1f} s: {writable.splitlines()[-1].strip()!r}); bucket clean"
        f" {swept_after:.2f} s later ({len(objects)} objects, {len(incomplete)} incomplete)"
    )
    assert not incomplete
    assert set(objects) == _committed(database)[1]
    assert _committed(database)[0] == 6
