"""A mixed citizen/agency load driven at several `vault serve` instances, and the audit log checked afterwards.

Shared by `bench/mixed_load.py` (60 s, prints figures) and `tests/system/test_mixed_load.py` (a few seconds,
asserts the correctness parts). No pytest here: the caller starts the deployment (`tests.support.cluster`) and
passes tokens from the OpenID provider.

Each worker thread has one `httpx.Client` per instance and alternates between them request by request, so
what one instance wrote is read through the other. Every request is counted by (kind, status).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import httpx

from tests.support.cluster import Cluster, bearer, sql, vault_cli

T = TypeVar("T")

__all__ = ("LoadResult", "LogCheck", "check_log", "drive")

DOCS = "/api/v1/documents"
MINIMAL_PDF = Path(__file__).resolve().parents[1] / "data" / "pdf" / "minimal.pdf"
CITIZENS = ("citizen-a", "citizen-b")
AGENCY = "agency-x"
# kind -> weight of the random choice; signing is paced separately (one in flight, `sign_every` s apart)
MIX: dict[str, int] = {
    "upload": 10,
    "metadata": 25,
    "download": 20,
    "version": 5,
    "grant": 4,
    "agency_read": 6,
    "link": 4,
    "link_download": 4,
    "list": 8,
    "access_log": 8,
}
# statuses that are the intended answer for a kind, not a failure: a one-download link used up by another worker
# (410); two workers storing a new version of one document at the same moment (409, "try again")
INTENDED: dict[str, set[int]] = {"link_download": {410}, "version": {409}}


def _later(hours: int) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


@dataclass
class LoadResult:
    """What the load did: requests by (kind, status), its duration and the log's size before it."""

    counts: Counter[tuple[str, int]]
    seconds: float
    entries_before: int
    max_queue_age: float  # the oldest queued entry's age (s), the largest of samples taken every 0.5 s
    errors: list[str] = field(default_factory=list)  # transport errors (no HTTP status), by kind: message
    samples: dict[tuple[str, int], str] = field(default_factory=dict)  # the first body of each non-2xx answer
    by_instance: Counter[str] = field(default_factory=Counter)  # answered requests by instance URL

    def unexpected(self) -> Counter[tuple[str, int]]:
        """Non-2xx answers that are not the intended answer of their kind."""
        return Counter(
            {(k, s): n for (k, s), n in self.counts.items() if not 200 <= s < 300 and s not in INTENDED.get(k, set())}
        )


class _Pool:
    """Documents, grants and links created so far (thread-safe), for the reads to pick from."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.documents: list[tuple[str, str]] = []  # (owner principal, document id)
        self.granted: list[str] = []  # document ids the agency may view and download
        self.links: list[str] = []  # share-link tokens

    def add(self, bucket: list[str] | list[tuple[str, str]], item: object) -> None:
        with self.lock:
            bucket.append(item)  # type: ignore[arg-type]

    def pick(self, bucket: list[T]) -> T | None:
        with self.lock:
            return random.choice(bucket) if bucket else None


def _entries(database: str) -> int:
    return int(sql(database, "SELECT count(*) FROM audit_entries"))


def drive(
    deployment: Cluster,
    tokens: dict[str, str],
    seconds: float,
    *,
    workers: int = 12,
    sign_every: float | None = 5.0,
    seed: int = 0,
) -> LoadResult:
    """Run the mixed load against every instance of `deployment` for `seconds`; count requests by kind/status.

    `tokens`: access tokens of the two citizens, the agency (`agency-x`). `sign_every`: seconds between B-T
    signatures of a freshly uploaded PDF (one thread, one in flight), None for none.
    """
    database = deployment.env["VAULT_DATABASE_URL"]
    pool = _Pool()
    counts: Counter[tuple[str, int]] = Counter()
    errors: list[str] = []
    samples: dict[tuple[str, int], str] = {}
    by_instance: Counter[str] = Counter()
    lock = threading.Lock()
    urls = [instance.url for instance in deployment.instances]
    stop = threading.Event()

    def count(kind: str, call: Callable[[], httpx.Response]) -> httpx.Response | None:
        try:
            response = call()
        except httpx.HTTPError as exc:
            with lock:
                errors.append(f"{kind}: {type(exc).__name__}: {exc}")
            return None
        with lock:
            counts[(kind, response.status_code)] += 1
            by_instance[str(response.request.url.copy_with(path="/", query=None)).rstrip("/")] += 1
            if not response.is_success and (kind, response.status_code) not in samples:
                samples[(kind, response.status_code)] = response.text[:300]
        return response

    def upload(http: httpx.Client, owner: str, data: bytes, media_type: str, *, share: bool = True) -> str | None:
        headers = {**bearer(tokens[owner]), "Content-Type": media_type, "X-Document-Title": "load"}
        created = count("upload", lambda: http.post(DOCS, content=data, headers=headers))
        if created is None or created.status_code != 201:
            return None
        doc_id = str(created.json()["id"])
        if share:  # the signer's PDFs stay its own: no worker stores a version over them
            pool.add(pool.documents, (owner, doc_id))
        return doc_id

    def one(http: httpx.Client, kind: str, rng: random.Random) -> None:
        owner = CITIZENS[rng.randrange(len(CITIZENS))]
        if kind == "upload" or not pool.documents:
            upload(http, owner, os.urandom(rng.randrange(1_000, 64_000)), "application/octet-stream")
            return
        picked = pool.pick(pool.documents)
        assert picked is not None
        owner, doc = picked
        auth = bearer(tokens[owner])
        if kind == "metadata":
            count(kind, lambda: http.get(f"{DOCS}/{doc}", headers=auth))
        elif kind == "download":
            count(kind, lambda: http.get(f"{DOCS}/{doc}/content", headers=auth))
        elif kind == "version":
            headers = {**auth, "Content-Type": "application/octet-stream"}
            data = os.urandom(rng.randrange(1_000, 32_000))
            count(kind, lambda: http.post(f"{DOCS}/{doc}/versions", content=data, headers=headers))
        elif kind == "grant":
            grant = {"agency": "tax-office", "permissions": ["view", "download"], "purpose": "load",
                    "expires_at": _later(24)}  # fmt: skip
            granted = count(kind, lambda: http.post(f"{DOCS}/{doc}/grants", json=grant, headers=auth))
            if granted is not None and granted.status_code == 201:
                pool.add(pool.granted, doc)
        elif kind == "agency_read":
            target = pool.pick(pool.granted)
            if target is None:
                return
            count(kind, lambda: http.get(f"{DOCS}/{target}/content", headers=bearer(tokens[AGENCY])))
        elif kind == "link":
            body: dict[str, object] = {"expires_at": _later(1), "max_downloads": rng.choice([1, 100])}
            made = count(kind, lambda: http.post(f"{DOCS}/{doc}/links", json=body, headers=auth))
            if made is not None and made.status_code == 201:
                pool.add(pool.links, str(made.json()["token"]))
        elif kind == "link_download":
            token = pool.pick(pool.links)
            if token is None:
                return
            count(kind, lambda: http.post(f"/s/{token}"))
        elif kind == "list":
            count(kind, lambda: http.get(DOCS, headers=auth, params={"limit": 20}))
        elif kind == "access_log":
            count(kind, lambda: http.get("/api/v1/me/access-log", headers=auth))

    def worker(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        kinds, weights = list(MIX), list(MIX.values())
        clients = [httpx.Client(base_url=url, timeout=60) for url in urls]
        try:
            turn = index
            while not stop.is_set():
                one(clients[turn % len(clients)], rng.choices(kinds, weights)[0], rng)
                turn += 1
        finally:
            for client in clients:
                client.close()

    def signer() -> None:
        assert sign_every is not None
        clients = [httpx.Client(base_url=url, timeout=120) for url in urls]
        pdf = MINIMAL_PDF.read_bytes()
        try:
            turn = 0
            while not stop.wait(0 if turn == 0 else sign_every):
                http = clients[turn % len(clients)]
                turn += 1
                doc = upload(http, "citizen-a", pdf, "application/pdf", share=False)
                if doc is not None:
                    url, auth = f"{DOCS}/{doc}/signatures", bearer(tokens["citizen-a"])
                    count("sign", lambda: http.post(url, json={"level": "B-T"}, headers=auth))
        finally:
            for client in clients:
                client.close()

    ages: list[float] = [0.0]

    def sampler() -> None:
        while not stop.wait(0.5):
            ages.append(_queue_state(database)[1])

    for url in urls:  # first contact registers each account (an agency is known once its officer signed in)
        with httpx.Client(base_url=url, timeout=60) as http:
            for token in tokens.values():
                me = http.get("/api/v1/me", headers=bearer(token))
                if me.status_code != 200:
                    raise RuntimeError(f"GET /api/v1/me on {url}: {me.status_code} {me.text[:300]}")
    entries_before = _entries(database)
    threads = [threading.Thread(target=sampler, name="load-queue-sampler")]
    threads += [threading.Thread(target=worker, args=(i,), name=f"load-{i}") for i in range(workers)]
    if sign_every is not None:
        threads.append(threading.Thread(target=signer, name="load-signer"))
    started = time.monotonic()
    for thread in threads:
        thread.start()
    stop.wait(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    return LoadResult(counts, time.monotonic() - started, entries_before, max(ages), errors, samples, by_instance)


@dataclass
class LogCheck:
    """The audit log after the load."""

    settled_after: float | None  # seconds from the end of the load until the queue was empty; None: not within
    entries: int  # log size (exported entries)
    contiguous: bool  # exported seq numbers are exactly 0..entries-1
    verify_exit: int
    verify_output: str


def _queue_state(database: str) -> tuple[int, float]:
    """(queued rows, age in s of the oldest), by the database clock."""
    row = sql(
        database,
        "SELECT count(*) || ' ' || coalesce(CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)"
        " - min(queued_us), 0) FROM audit_queue",
    )
    queued, age_us = row.split()
    return int(queued), int(age_us) / 1e6


def check_log(deployment: Cluster, auditor_token: str, directory: Path, deadline: float = 60.0) -> LogCheck:
    """Wait for the queue to drain, export the log from the last instance and run `vault audit verify` on it."""
    database = deployment.env["VAULT_DATABASE_URL"]
    ended = time.monotonic()
    settled: float | None = None
    while time.monotonic() - ended < deadline:
        queued, _ = _queue_state(database)
        if queued == 0:
            settled = time.monotonic() - ended
            break
        time.sleep(0.05)
    first, last = deployment.instances[0], deployment.instances[-1]
    with first.client() as http:
        kept = http.post("/api/v1/audit/checkpoints", headers=bearer(auditor_token))
        assert kept.status_code == 201, kept.text
        key = str(http.get("/api/v1/audit/key").json()["note_verifier"])
    bundle = directory / "audit-export.json"
    with (
        last.client(timeout=300) as http,
        http.stream("GET", "/api/v1/audit/export", headers=bearer(auditor_token)) as r,
    ):
        assert r.status_code == 200, r.read()
        with bundle.open("wb") as out:
            for block in r.iter_bytes():
                out.write(block)
    seqs: Sequence[int] = [entry["seq"] for entry in json.loads(bundle.read_bytes())["entries"]]
    verdict: subprocess.CompletedProcess[str] = vault_cli(deployment.env, "audit", "verify", str(bundle), "--key", key)
    return LogCheck(
        settled_after=settled,
        entries=len(seqs),
        contiguous=list(seqs) == list(range(len(seqs))),
        verify_exit=verdict.returncode,
        verify_output=(verdict.stdout + verdict.stderr).strip(),
    )
