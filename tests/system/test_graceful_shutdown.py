"""SIGTERM to one instance while a download streams from it: the download completes (every byte, the right hash)
within the grace period, the instance then exits, and the deployment keeps serving through the other instance."""

from __future__ import annotations

import hashlib
import os
import secrets
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.services.oidc_provider import OidcProvider
from tests.services.seaweedfs import S3Server
from tests.support.cluster import bearer, cluster

pytestmark = pytest.mark.system
DOCS = "/api/v1/documents"
MiB = 1024 * 1024
GRACE = 20


def test_sigterm_lets_an_inflight_download_finish(
    tmp_path: Path, database: str, s3_server: S3Server, oidc_provider: OidcProvider
) -> None:
    shared = {
        "VAULT_DATABASE_URL": database,
        "VAULT_STORAGE_URL": s3_server.url(f"graceful-{secrets.token_hex(4)}"),
        "VAULT_KEY_PROVIDER": f"local:{tmp_path / 'keyring.json'}?create=true",
        "VAULT_OIDC_ISSUER": oidc_provider.issuer,
        "VAULT_OIDC_AUDIENCE": oidc_provider.audience,
    }
    token = oidc_provider.token("citizen-a")
    with cluster(tmp_path, shared, graceful_seconds=GRACE) as deployment:
        stopping, other = deployment.instances
        data = os.urandom(48 * MiB)
        with stopping.client(timeout=120) as http:
            created = http.post(
                DOCS,
                content=data,
                headers={**bearer(token), "Content-Type": "application/octet-stream", "X-Document-Title": "Big"},
            )
            assert created.status_code == 201, created.text
            doc_id = created.json()["id"]

        hasher, received = hashlib.sha256(), 0
        signalled: list[float] = []
        with (
            stopping.client(timeout=120) as http,
            http.stream("GET", f"{DOCS}/{doc_id}/content", headers=bearer(token)) as response,
        ):
            assert response.status_code == 200
            for piece in response.iter_bytes(256 * 1024):
                hasher.update(piece)
                received += len(piece)
                if not signalled and received >= 4 * MiB:
                    stopping.terminate()
                    signalled.append(time.monotonic())
                elif signalled:
                    time.sleep(0.01)  # a slow client: the download goes on for a few seconds after SIGTERM
            finished_after = time.monotonic() - signalled[0]
        assert received == len(data)
        assert hasher.digest() == hashlib.sha256(data).digest()
        assert finished_after < GRACE

        # while it drains and after: new requests through nginx are served by the other instance
        served: list[str] = []

        def keep_asking() -> None:
            with deployment.client() as balanced:
                for _ in range(6):
                    answer = balanced.get(f"{DOCS}/{doc_id}", headers=bearer(token))
                    assert answer.status_code == 200, answer.text
                    served.append(answer.headers["X-Upstream"])

        asker = threading.Thread(target=keep_asking)
        asker.start()
        code = stopping.wait(timeout=GRACE + 30)
        exited_after = time.monotonic() - signalled[0]
        asker.join(timeout=60)
        assert len(served) == 6
        assert served[-1] == f"127.0.0.1:{other.port}"
        with pytest.raises(httpx.ConnectError), stopping.client() as direct:
            direct.get("/health")
    print(
        f"\nFAULT SIGTERM during a 48 MiB download: completed {finished_after:.2f} s after the signal, whole and"
        f" intact; the instance exited with {code} {exited_after:.2f} s after the signal (grace {GRACE} s);"
        f" requests meanwhile: all 200 ({served.count(f'127.0.0.1:{other.port}')} of 6 from the other instance)"
    )
    # uvicorn (>= 0.29) re-raises the signal once it has shut down cleanly: the status says "ended by SIGTERM".
    # (Its last log lines are not asserted: Litestar's queued log handler can lose them when the signal ends it.)
    assert code in (0, -signal.SIGTERM)
