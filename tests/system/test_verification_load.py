"""The attack of issue "Hardening" 1, reproduced: eight anonymous verifications of a 400-signature PDF in flight
while a citizen signs. Verification runs capped and in worker processes, so the citizen's signature stays under
2 s and /health under 1 s (the issue's bounds). Loopback only, bounded in count and time."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.pdfs import with_signature_copies
from tests.support.vault_app import LiveServer, bearer, make_settings, running_server
from vault.app import services_of

MINIMAL = Path(__file__).resolve().parents[1] / "data" / "pdf" / "minimal.pdf"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = make_settings(Path(tmp_path_factory.mktemp("verify-load")), anonymous_verify_per_minute=1000)
    with running_server(settings) as live:
        yield live


def _sign_once(live: LiveServer, headers: dict[str, str]) -> tuple[float, bytes]:
    with live.client() as http:
        created = http.post(
            "/api/v1/documents",
            content=MINIMAL.read_bytes(),
            headers={**headers, "Content-Type": "application/pdf", "X-Document-Title": "contract"},
        )
        assert created.status_code == 201, created.text
        doc = created.json()["id"]
        started = time.monotonic()
        signed = http.post(f"/api/v1/documents/{doc}/signatures", json={"level": "B-B"}, headers=headers)
        took = time.monotonic() - started
        assert signed.status_code == 201, signed.text
        return took, http.get(f"/api/v1/documents/{doc}/content", headers=headers).content


def test_costly_verifications_do_not_hold_up_signing_or_health(server: LiveServer) -> None:
    alice = bearer(services_of(server.app).dev_idp.issue_access_token("alice"))  # type: ignore[union-attr]
    _, signed = _sign_once(server, alice)  # warm-up, and the signature to copy
    bomb = with_signature_copies(signed, 399)

    def attack(_: int) -> int:
        with httpx.Client(base_url=server.url, timeout=120) as http:
            return http.post("/api/v1/verify", content=bomb, headers={"Content-Type": "application/pdf"}).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        attacks = [pool.submit(attack, i) for i in range(8)]
        time.sleep(0.5)  # the attack is in flight
        signing_took, _ = _sign_once(server, alice)
        with httpx.Client(base_url=server.url, timeout=10) as http:
            started = time.monotonic()
            assert http.get("/health").status_code == 200
            health_took = time.monotonic() - started
        statuses = [a.result() for a in attacks]
    assert set(statuses) <= {422, 503}  # too many signatures, or the pool is full: never a 500, never a hang
    assert 422 in statuses
    assert signing_took < 2.0  # the issue's bounds
    assert health_took < 1.0
