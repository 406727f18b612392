"""Limits shared across instances: held in the database, they hold behind a load balancer."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support.api import DOCS, assert_problem, later
from tests.support.vault_app import bearer, make_settings, vault_client
from vault.app import services_of

MINIMAL = Path(__file__).resolve().parents[1] / "data" / "pdf" / "minimal.pdf"


def _two(tmp_path: Path, database_url: str, **overrides: object):  # type: ignore[no-untyped-def]
    common = {
        "key_provider": f"local:{tmp_path / 'keyring.json'}?create=true",
        "public_url": "https://vault.example",
        **overrides,
    }
    one = make_settings(tmp_path, database_url, data_dir=tmp_path / "one", **common)
    two = make_settings(tmp_path, database_url, data_dir=tmp_path / "two", **common)
    return vault_client(one), vault_client(two)


def test_wrong_link_passwords_spread_over_two_instances_hit_one_limit(tmp_path: Path, database_url: str) -> None:
    first, second = _two(tmp_path, database_url)
    with first as one, second as two:
        alice = bearer(services_of(one.app).dev_idp.issue_access_token("alice"))  # type: ignore[union-attr]
        doc = one.post(DOCS, content=b"x", headers={**alice, "Content-Type": "text/plain", "X-Document-Title": "t"})
        body = {"expires_at": later(days=1), "max_downloads": 5, "password": "correct horse battery"}
        token = one.post(f"{DOCS}/{doc.json()['id']}/links", json=body, headers=alice).json()["token"]
        statuses = [
            (one if i % 2 else two).post(f"/s/{token}", data={"password": f"wrong {i}"}).status_code for i in range(40)
        ]
    assert statuses[:10] == [403] * 10  # the limit (10) counts guesses made on either instance
    assert set(statuses[10:]) == {429}


def test_anonymous_verifications_are_limited_across_instances(tmp_path: Path, database_url: str) -> None:
    first, second = _two(tmp_path, database_url, anonymous_verify_per_minute=3)
    with first as one, second as two:
        for _attempt in range(3):  # a run that straddles a minute boundary counts in two windows: run it again
            started = time.time()
            # cheap requests (a wrong media type is refused after the limiter counted them): no worker is started
            statuses = [
                (one if i % 2 else two)
                .post("/api/v1/verify", content=b"text", headers={"Content-Type": "text/plain"})
                .status_code
                for i in range(5)
            ]
            if int(started // 60) == int(time.time() // 60):
                break
            time.sleep(max(0.0, 60 - time.time() % 60) + 0.5)
        refused = two.post("/api/v1/verify", content=MINIMAL.read_bytes(), headers={"Content-Type": "application/pdf"})
    assert statuses == [415, 415, 415, 429, 429]
    assert_problem(refused, 429)
    assert int(refused.headers["retry-after"]) >= 1
