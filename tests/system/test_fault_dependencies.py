"""Dependencies of the deployment going down while two instances serve behind nginx: the key provider (the keyring
file unreadable; the SoftHSM2 token gone from under two processes), the TSA during a B-T signature, the identity
provider's JWKS. Clients get 503 problems (never a 500, never a hang, never a document decrypted or signed without
what it needs), and the deployment recovers."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.services._proc import ServiceProcess, wait_for_http
from tests.services.oidc_provider import OIDC_DIR, OidcProvider, start_oidc_provider
from tests.services.pki import MINIMAL_PDF, PkiServices
from tests.services.seaweedfs import S3Server
from tests.services.softhsm import MODULE_PATH
from tests.support.cluster import Cluster, Instance, bearer, cluster, problem, vault_cli

pytestmark = pytest.mark.system
DOCS = "/api/v1/documents"


def _shared(tmp_path: Path, database: str, s3: S3Server, issuer: str, audience: str) -> dict[str, str]:
    return {
        "VAULT_DATABASE_URL": database,
        "VAULT_STORAGE_URL": s3.url(f"deps-{secrets.token_hex(4)}"),
        "VAULT_KEY_PROVIDER": f"local:{tmp_path / 'keyring.json'}?create=true",
        "VAULT_OIDC_ISSUER": issuer,
        "VAULT_OIDC_AUDIENCE": audience,
    }


def _upload(http: httpx.Client, token: str, data: bytes, media_type: str = "application/octet-stream") -> dict:
    headers = {**bearer(token), "Content-Type": media_type, "X-Document-Title": "Contract"}
    response = http.post(DOCS, content=data, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _until(check, timeout: float = 60) -> float | None:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.2)
    return None


# --- the key provider ---------------------------------------------------------------------------------------------


@pytest.fixture
def deployment(tmp_path: Path, database: str, s3_server: S3Server, oidc_provider: OidcProvider) -> Iterator[Cluster]:
    with cluster(tmp_path, _shared(tmp_path, database, s3_server, oidc_provider.issuer, oidc_provider.audience)) as d:
        yield d


def test_key_provider_unreadable(deployment: Cluster, oidc_provider: OidcProvider, tmp_path: Path) -> None:
    token = oidc_provider.token("citizen-a")
    keyring = tmp_path / "keyring.json"
    data = os.urandom(300_000)
    with deployment.client() as http:
        doc = _upload(http, token, data)
    # a rotation (the subject keys are rewrapped to KEK version 2), then the keyring file becomes unreadable
    # before the instances have read version 2: every unwrap needs the provider
    rotated = vault_cli(deployment.env, "keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    shutil.move(keyring, tmp_path / "keyring.away")
    keyring.write_bytes(b"\x00garbage")
    keyring.chmod(0o600)
    downed = time.monotonic()
    with deployment.client() as http:
        answers = [http.get(f"{DOCS}/{doc['id']}/content", headers=bearer(token)) for _ in range(2)]
        upload = http.post(DOCS, content=b"new", headers={**bearer(token), "Content-Type": "text/plain",
                                                          "X-Document-Title": "t"})  # fmt: skip
    took = time.monotonic() - downed
    for response in answers:  # one on each instance
        assert problem(response, 503)["type"].endswith("/key-provider-unavailable")
        assert data[:256] not in response.content
    assert {r.headers["X-Upstream"] for r in answers} == {f"127.0.0.1:{i.port}" for i in deployment.instances}
    problem(upload, 503)
    for instance in deployment.instances:
        with instance.client() as direct:
            ready = direct.get("/ready")
            assert (ready.status_code, ready.json()["checks"]["key_provider"]) == (503, "unavailable")
    # an instance (re)started while the keyring is unreadable refuses to start: it never makes a new keyring
    second = deployment.instances[1]
    second.kill()
    with pytest.raises(RuntimeError) as refused:
        second.start(timeout=60)
    reason = [line for line in str(refused.value).splitlines() if line.startswith("configuration error:")]
    assert reason == [f"configuration error: VAULT_KEY_PROVIDER (keyring file {keyring}): keyring file is malformed"]
    assert "Traceback" not in str(refused.value)

    shutil.move(tmp_path / "keyring.away", keyring)
    restored = time.monotonic()
    first = deployment.instances[0]

    def serves() -> bool:
        with first.client() as direct:
            return direct.get(f"{DOCS}/{doc['id']}/content", headers=bearer(token)).content == data

    recovered_after = _until(serves)
    second.start()
    restarted_after = time.monotonic() - restored
    with second.client() as direct:
        assert direct.get(f"{DOCS}/{doc['id']}/content", headers=bearer(token)).content == data
    print(
        f"\nFAULT key provider unreadable: reads and uploads 503 key-provider-unavailable ({took:.2f} s for three"
        f" requests), /ready 503 on both; a restarted instance refuses to start ({reason[0].strip()[-160:]!r});"
        f" serving again {recovered_after:.2f} s after the keyring is back; the refused instance up"
        f" {restarted_after:.2f} s after"
    )
    assert recovered_after is not None


# --- the key provider in SoftHSM2, two processes -------------------------------------------------------------------


@pytest.fixture
def hsm_deployment(
    tmp_path: Path, database: str, s3_server: S3Server, oidc_provider: OidcProvider
) -> Iterator[Cluster]:
    """Two instances whose KEK is in one SoftHSM2 token of their own (a private token directory and conf)."""
    tokens = tmp_path / "softhsm" / "tokens"
    tokens.mkdir(parents=True)
    conf = tmp_path / "softhsm" / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    hsm = {"SOFTHSM2_CONF": str(conf), "VAULT_TEST_HSM_PIN": "4321"}
    init = ["softhsm2-util", "--init-token", "--free", "--label", "vault-kek", "--pin", "4321", "--so-pin", "8765"]
    subprocess.run(init, env={**os.environ, **hsm}, check=True, capture_output=True)
    shared = _shared(tmp_path, database, s3_server, oidc_provider.issuer, oidc_provider.audience)
    shared["VAULT_KEY_PROVIDER"] = (
        f"pkcs11:{MODULE_PATH}?token=vault-kek&pin-env=VAULT_TEST_HSM_PIN&label=kek-{secrets.token_hex(4)}&create=true"
    )
    with cluster(tmp_path, {**shared, **hsm}) as d:
        yield d


def test_softhsm_token_gone_under_two_processes(hsm_deployment: Cluster, oidc_provider: OidcProvider) -> None:
    """SoftHSM2 keeps its token in files: the token directory moved away under two running processes is a token
    unplugged (every session handle invalid, no new login). Both answer 503 and decrypt nothing; once it is
    back, both serve again (the provider logs in again, re-initialising the PKCS#11 library)."""
    deployment, token = hsm_deployment, oidc_provider.token("citizen-a")
    tokens = Path(deployment.env["SOFTHSM2_CONF"]).parent / "tokens"
    data = os.urandom(300_000)
    with deployment.client() as http:
        doc = _upload(http, token, data)
        served = [http.get(f"{DOCS}/{doc['id']}/content", headers=bearer(token)) for _ in range(2)]
    assert [r.content == data for r in served] == [True, True]  # both processes unwrap with the token

    shutil.move(tokens, tokens.with_name("tokens.away"))
    downed = time.monotonic()
    with deployment.client() as http:
        answers = [http.get(f"{DOCS}/{doc['id']}/content", headers=bearer(token)) for _ in range(2)]
        uploads = [
            http.post(DOCS, content=b"new", headers={**bearer(token), "Content-Type": "text/plain",
                                                     "X-Document-Title": "t"})
            for _ in range(2)
        ]  # fmt: skip
    took = (time.monotonic() - downed) / 4
    for response in answers:
        assert problem(response, 503)["type"].endswith("/key-provider-unavailable")
        assert data[:256] not in response.content
    for response in uploads:
        assert problem(response, 503)["type"].endswith("/key-provider-unavailable")
    everyone = {f"127.0.0.1:{i.port}" for i in deployment.instances}
    assert {r.headers["X-Upstream"] for r in answers} == everyone
    assert {r.headers["X-Upstream"] for r in uploads} == everyone
    for instance in deployment.instances:
        with instance.client() as direct:
            ready = direct.get("/ready")
            assert (ready.status_code, ready.json()["checks"]["key_provider"]) == (503, "unavailable")
    # a process started meanwhile refuses to start, in one line naming the setting
    refused = vault_cli(deployment.env, "serve", "--host", "127.0.0.1", "--port", "1", timeout=120)
    assert refused.returncode == 2, refused.stderr[-2000:]
    assert "Traceback" not in refused.stderr
    assert refused.stderr.strip().splitlines() == [
        "configuration error: VAULT_KEY_PROVIDER (PKCS#11 module /usr/lib/softhsm/libsofthsm2.so, token vault-kek):"
        " key provider is unavailable"
    ]
    with deployment.client() as http:
        listed = http.get(DOCS, headers=bearer(token))
    assert [d["id"] for d in listed.json()["items"]] == [doc["id"]]  # no upload half-made

    shutil.move(tokens.with_name("tokens.away"), tokens)
    restored = time.monotonic()
    recovered: dict[str, float | None] = {}
    for instance in deployment.instances:

        def serves(instance: Instance = instance) -> bool:
            with instance.client() as direct:
                return direct.get(f"{DOCS}/{doc['id']}/content", headers=bearer(token)).content == data

        waited = _until(serves)
        recovered[instance.name] = None if waited is None else time.monotonic() - restored
    with deployment.client() as http:
        after = [_upload(http, token, os.urandom(1000)) for _ in range(2)]
        for instance in deployment.instances:
            with instance.client() as direct:
                assert direct.get("/ready").status_code == 200
    print(
        f"\nFAULT SoftHSM2 token gone under two processes: reads and uploads 503 key-provider-unavailable on both"
        f" ({took:.2f} s a request), /ready 503 on both, a new process refuses to start (exit 2, one line);"
        f" serving again {', '.join(f'{k} {v:.2f} s' for k, v in recovered.items() if v is not None)}"
        f" after the token directory is back; {len(after)} uploads then 201"
    )
    assert None not in recovered.values()


# --- the TSA ------------------------------------------------------------------------------------------------------


@pytest.fixture
def signing_deployment(
    tmp_path: Path, database: str, s3_server: S3Server, oidc_provider: OidcProvider, pki: PkiServices
) -> Iterator[Cluster]:
    shared = _shared(tmp_path, database, s3_server, oidc_provider.issuer, oidc_provider.audience)
    with cluster(tmp_path, {**shared, "VAULT_TSA_URL": pki.tsa_url}) as d:
        yield d


def test_tsa_down_during_a_b_t_signature(
    signing_deployment: Cluster, oidc_provider: OidcProvider, pki: PkiServices
) -> None:
    token = oidc_provider.token("citizen-a")
    with signing_deployment.client(timeout=120) as http:
        doc = _upload(http, token, MINIMAL_PDF.read_bytes(), "application/pdf")

        def sign() -> httpx.Response:
            return http.post(f"{DOCS}/{doc['id']}/signatures", json={"level": "B-T"}, headers=bearer(token))

        with pki.offline():
            started = time.monotonic()
            refused = [sign() for _ in range(2)]  # one on each instance
            took = (time.monotonic() - started) / 2
            for response in refused:
                problem(response, 503)
            assert {r.headers["X-Upstream"] for r in refused} == {
                f"127.0.0.1:{i.port}" for i in signing_deployment.instances
            }
            assert http.get(f"{DOCS}/{doc['id']}", headers=bearer(token)).json()["version"] == 1  # nothing signed
            assert http.get(f"{DOCS}/{doc['id']}/content", headers=bearer(token)).content == MINIMAL_PDF.read_bytes()
            back = time.monotonic()
        signed = sign()
        recovered_after = time.monotonic() - back
        assert signed.status_code == 201, signed.text
        assert signed.json()["version"] == 2
        versions = http.get(f"{DOCS}/{doc['id']}/versions", headers=bearer(token)).json()
        assert [v["origin"] for v in versions] == ["upload", "signature"]
    detail = refused[0].json()["detail"]
    print(
        f"\nFAULT TSA down during B-T: 503 ({detail!r}) after {took:.2f} s per request, no new version;"
        f" signed {recovered_after:.2f} s after the TSA is back (its restart included)"
    )


# --- the identity provider's JWKS ---------------------------------------------------------------------------------


@pytest.fixture
def own_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    """An OpenID provider for this test only (it is stopped and started again on the same port and key)."""
    provider = start_oidc_provider(tmp_path_factory.mktemp("oidc-own"))
    try:
        yield provider
    finally:
        provider.process.stop()


def _restart(provider: OidcProvider) -> None:
    node = shutil.which("node")
    assert node is not None
    log_dir = provider.process.log_path.parent
    argv = [node, str(OIDC_DIR / "provider.mjs"), "--port", str(provider.port), "--issuer", provider.issuer]
    env = {"OIDC_JWKS_FILE": str(log_dir / "signing-jwks.json")}
    provider.process = ServiceProcess("oidc-provider-again", argv, log_dir, env=env, cwd=OIDC_DIR)
    wait_for_http(f"{provider.issuer}/.well-known/openid-configuration", timeout=30, proc=provider.process.proc)


def test_identity_provider_jwks_down(
    tmp_path: Path, database: str, s3_server: S3Server, own_provider: OidcProvider
) -> None:
    shared = _shared(tmp_path, database, s3_server, own_provider.issuer, own_provider.audience)
    with cluster(tmp_path, shared) as deployment:
        token = own_provider.token("citizen-a")
        with deployment.client() as http:
            doc = _upload(http, token, b"before the provider went down")
            assert http.get(DOCS, headers=bearer(token)).status_code == 200  # both instances know the keys
        own_provider.process.stop()
        # a key the instances have not seen (the provider rotated, or a forgery): they must ask the JWKS
        claims = {
            "iss": own_provider.issuer, "sub": "citizen-a", "aud": own_provider.audience, "client_id": "citizen-a",
            "iat": int(time.time()), "exp": int(time.time()) + 300, "jti": secrets.token_hex(8),
            "roles": ["citizen"],
        }  # fmt: skip
        unknown = own_provider.sign({"kid": "rotated-" + secrets.token_hex(4)}, claims)
        with deployment.client() as http:
            started = time.monotonic()
            known = [http.get(f"{DOCS}/{doc['id']}/content", headers=bearer(token)) for _ in range(2)]
            unseen = [http.get(DOCS, headers=bearer(unknown)) for _ in range(2)]
            took = (time.monotonic() - started) / 4
        assert [r.status_code for r in known] == [200, 200]  # keys cached: the citizens keep working
        unseen_status = sorted({r.status_code for r in unseen})
        for response in unseen:  # refused: 401 within the JWKS re-fetch interval (no fetch), 503 when it fetches
            problem(response, 401, 503)
        # an instance started while the provider is down has no keys at all
        cold = deployment.instances[1]
        cold.kill()
        cold_start = time.monotonic()
        cold.start()
        cold_start_seconds = time.monotonic() - cold_start
        with cold.client() as direct:
            cold_answer = direct.get(DOCS, headers=bearer(token))
            problem(cold_answer, 503)
            assert direct.get("/health").status_code == 200

        back = time.monotonic()
        _restart(own_provider)
        provider_restart = time.monotonic() - back

        def serves() -> bool:
            with cold.client() as direct:
                return direct.get(DOCS, headers=bearer(token)).status_code == 200

        waited = _until(serves)
        assert waited is not None
        recovered_after = time.monotonic() - back
        with deployment.client() as http:
            assert [http.get(DOCS, headers=bearer(unknown)).status_code for _ in range(2)] == [401, 401]
    print(
        f"\nFAULT JWKS down: tokens with cached keys 200 on both; an unseen key {unseen_status} problem"
        f" ({took:.2f} s a request); an instance started meanwhile answers 503 (started in {cold_start_seconds:.1f} s);"
        f" it serves {recovered_after:.2f} s after the provider restart began"
        f" (the restart itself {provider_restart:.2f} s); the unseen key then 401"
    )
