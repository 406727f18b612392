"""Mixed load on two instances, then the audit log: gap-free, and `vault audit verify` accepts the export.

Two `vault serve` processes on one PostgreSQL database, one SeaweedFS bucket, one keyring file and the npm
OpenID provider (the `tests.support.cluster` deployment, nginx in front but not used by the load). Worker
threads alternate between the two instances and drive uploads of small files, metadata reads, downloads, new
versions, grants and the agency's downloads, share links and their downloads, listings, access-log reads, and
a B-T signature of a fresh PDF every few seconds (`tests.support.mixed_load`). Then the log: the queue must
drain within a deadline, the export (`GET /api/v1/audit/export` as an auditor) must be numbered 0..n-1, and
`vault audit verify --key <GET /api/v1/audit/key>` must pass.

Usage (from the repository root; PostgreSQL on 127.0.0.1:5432 as for the tests, node + tests/oidc/node_modules):
    .venv/bin/python -m bench.mixed_load [--seconds 60] [--workers 12] [--sign-every 5]
"""

from __future__ import annotations

import argparse
import sys

from bench._harness import seaweedfs, workdir
from tests.services import postgres
from tests.services.oidc_provider import start_oidc_provider
from tests.support.cluster import cluster
from tests.support.mixed_load import INTENDED, check_log, drive


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=12, help="concurrent client threads")
    parser.add_argument("--sign-every", type=float, default=5.0, help="seconds between signatures; 0 for none")
    args = parser.parse_args()

    name = postgres.create_database()
    try:
        with workdir("mixed-load") as tmp, seaweedfs(tmp / "seaweedfs", bucket="mixed") as s3:
            (tmp / "oidc").mkdir()
            provider = start_oidc_provider(tmp / "oidc")
            try:
                shared = {
                    "VAULT_DATABASE_URL": postgres.database_url(name),
                    "VAULT_STORAGE_URL": s3.store_url,
                    "VAULT_KEY_PROVIDER": f"local:{tmp / 'keyring.json'}?create=true",
                    "VAULT_OIDC_ISSUER": provider.issuer,
                    "VAULT_OIDC_AUDIENCE": provider.audience,
                }
                with cluster(tmp / "cluster", shared) as deployment:
                    tokens = {p: provider.token(p) for p in ("citizen-a", "citizen-b", "agency-x", "auditor")}
                    load = drive(
                        deployment, tokens, args.seconds, workers=args.workers, sign_every=args.sign_every or None
                    )
                    log = check_log(deployment, tokens["auditor"], tmp)
            finally:
                provider.process.stop()
    finally:
        postgres.drop_database(name)

    total = sum(load.counts.values())
    print(f"mixed load: 2 instances (PostgreSQL, SeaweedFS, one keyring), {args.workers} client threads"
          f" + 1 signer, {load.seconds:.1f} s, {total:,} requests, {total / load.seconds:,.1f} req/s")  # fmt: skip
    print("  by instance: " + ", ".join(f"{url}: {n:,}" for url, n in sorted(load.by_instance.items())))
    kinds = sorted({kind for kind, _ in load.counts})
    for kind in kinds:
        statuses = {s: n for (k, s), n in sorted(load.counts.items()) if k == kind}
        done = sum(statuses.values())
        shown = ", ".join(f"{s}: {n}" for s, n in statuses.items())
        intended = f" (intended: {sorted(INTENDED[kind])})" if kind in INTENDED else ""
        print(f"  {kind:<14} {done / load.seconds:8.1f} req/s  [{shown}]{intended}")
    unexpected = load.unexpected()
    print(f"unexpected non-2xx: {sum(unexpected.values())} {dict(unexpected) or ''}".rstrip())
    for key in unexpected:
        print(f"  {key}: {load.samples.get(key, '')}")
    print(f"transport errors: {len(load.errors)}" + (f" (first: {load.errors[0]})" if load.errors else ""))
    appended = log.entries - load.entries_before
    settled = f"{log.settled_after:.2f} s" if log.settled_after is not None else "NOT within the deadline"
    print(
        f"audit log: {log.entries:,} entries ({appended:,} during the load, {appended / load.seconds:,.1f} entries/s);"
        f" oldest queued entry during the load {load.max_queue_age * 1000:.0f} ms; queue drained {settled} after"
        f" the load; seq 0..n-1 {'contiguous' if log.contiguous else 'NOT CONTIGUOUS'}"
    )
    first_line = log.verify_output.splitlines()[0] if log.verify_output else ""
    print(f"vault audit verify: exit {log.verify_exit}: {first_line}")
    ok = not unexpected and not load.errors and log.contiguous and log.settled_after is not None
    ok = ok and log.verify_exit == 0
    print("RESULT: " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
