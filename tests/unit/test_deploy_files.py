"""compose.yaml, the Keycloak realm, the Dockerfile and its helpers, checked without a Docker engine.

The compose file is parsed and its `${VAR}` references resolved as Compose does; the vault's environment is then
fed to the real `Settings` in production mode, so a variable the production validator requires and compose
lacks fails here. The realm is checked against the same environment (roles claim, agency claim, audience), and
a token shaped by the realm's mappers is validated by the real `auth.TokenValidator` built from it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml
from cryptography import x509
from joserfc import jwt
from joserfc.jwk import RSAKey
from pydantic import ValidationError

from auth import JwksCache, TokenPolicy, TokenValidator
from vault.settings import Settings

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "compose.yaml"
REALM = REPO / "deploy" / "keycloak" / "realm.json"
DOCKERFILE = REPO / "Dockerfile"
ENTRYPOINT = REPO / "deploy" / "docker-entrypoint.sh"
INIT_PKI = REPO / "deploy" / "init_pki.py"
LOCK = REPO / "requirements.lock"
ROLES = {"citizen", "agency", "auditor", "admin"}
_VARIABLE = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's `${NAME}`, `${NAME:-default}` and `${NAME:?error}` substitution, recursively."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if env.get(name) or (name in env and op in ("-", "?")):  # without the colon, set-but-empty counts as set
            return env[name]
        if op and op.endswith("?"):
            raise KeyError(f"{name}: {arg}")
        return arg or ""

    return _VARIABLE.sub(substitute, value)


def example_env() -> dict[str, str]:
    lines = (REPO / "deploy" / "compose.env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(interpolate(yaml.safe_load(COMPOSE.read_text()), example_env()))


@pytest.fixture(scope="module")
def realm() -> dict[str, Any]:
    return dict(json.loads(REALM.read_text()))


def vault_env(compose: dict[str, Any], service: str = "vault") -> dict[str, str]:
    environment = compose["services"][service]["environment"]
    assert isinstance(environment, dict)
    return {name: str(value) for name, value in environment.items()}


def production_settings(env: dict[str, str]) -> Settings:
    values = {name.removeprefix("VAULT_").lower(): value for name, value in env.items() if name.startswith("VAULT_")}
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def client(realm: dict[str, Any]) -> dict[str, Any]:
    (portal,) = [c for c in realm["clients"] if c["clientId"] == "citizen-vault-portal"]
    return dict(portal)


def mapper(realm: dict[str, Any], kind: str) -> dict[str, str]:
    (found,) = [m for m in client(realm)["protocolMappers"] if m["protocolMapper"] == kind]
    return dict(found["config"])


# compose.yaml


def test_every_password_must_be_given_and_none_is_committed() -> None:
    raw = yaml.safe_load(COMPOSE.read_text())
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):
        interpolate(raw, {})
    assert "change-me" not in COMPOSE.read_text()


@pytest.mark.parametrize("service", ["vault", "migrate"])
def test_the_vault_environment_passes_the_production_validator(compose: dict[str, Any], service: str) -> None:
    env = vault_env(compose, service)
    assert env["VAULT_ENV"] == "production"
    settings = production_settings(env)
    assert settings.env == "production"
    assert not settings.uses_dev_identity_provider


def test_every_variable_production_requires_is_set(compose: dict[str, Any]) -> None:
    env = vault_env(compose)
    required = set()
    for name in env:
        if name.startswith("VAULT_") and name != "VAULT_ENV":
            try:
                production_settings({k: v for k, v in env.items() if k != name})
            except ValidationError:
                required.add(name)
    # what the validator names today, found by removing each variable in turn: all set, none empty
    assert required >= {
        "VAULT_DATABASE_URL", "VAULT_STORAGE_URL", "VAULT_KEY_PROVIDER", "VAULT_OIDC_ISSUER", "VAULT_TRUST_ROOTS",
    }  # fmt: skip
    assert all(env[name] for name in required)


def test_the_vault_never_migrates_itself_and_waits_for_the_one_shot_upgrade(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert vault_env(compose)["VAULT_AUTO_MIGRATE"] == "false"
    assert services["migrate"]["command"] == ["vault", "db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    assert services["vault"]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    for dependency in ("minio", "keycloak"):
        assert services["vault"]["depends_on"][dependency] == {"condition": "service_healthy"}
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}


def test_long_running_services_have_healthchecks(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if service.get("restart") != "no":
            assert service["healthcheck"]["test"], name


def test_images_are_pinned(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if "build" in service:
            continue
        image = service["image"]
        tag = image.split("@", 1)[0].rsplit(":", 1)[-1] if ":" in image.split("/")[-1] else ""
        assert re.search(r"\d+\.\d+|RELEASE\.\d{4}", tag), f"{name}: {image} has no version tag"
        assert "latest" not in image, name


def test_the_databases_and_the_store_are_the_ones_compose_runs(compose: dict[str, Any]) -> None:
    env = vault_env(compose)
    postgres = compose["services"]["postgres"]["environment"]
    database = urlsplit(env["VAULT_DATABASE_URL"])
    assert database.scheme == "postgresql+asyncpg"
    assert (database.hostname, database.port) == ("postgres", 5432)
    assert (database.username, database.password) == (postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"])
    assert database.path == f"/{postgres['POSTGRES_DB']}"
    store = urlsplit(env["VAULT_STORAGE_URL"])
    minio = compose["services"]["minio"]["environment"]
    assert (store.scheme, store.hostname, store.port) == ("s3", "minio", 9000)
    assert (store.username, store.password) == (minio["MINIO_ROOT_USER"], minio["MINIO_ROOT_PASSWORD"])
    keycloak = compose["services"]["keycloak"]["environment"]
    assert keycloak["KC_DB_PASSWORD"] == postgres["KEYCLOAK_DB_PASSWORD"]


def test_mounted_files_exist_in_the_repository(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (REPO / source).is_file(), f"{name}: {source}"


def test_keycloak_serves_the_issuer_over_tls_with_the_files_the_pki_step_writes(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    subprocess.run([sys.executable, str(INIT_PKI), str(tmp_path)], check=True, capture_output=True, timeout=60)
    written = {path.name for path in tmp_path.iterdir()}
    env = vault_env(compose)
    keycloak = compose["services"]["keycloak"]["environment"]
    issuer = urlsplit(env["VAULT_OIDC_ISSUER"])
    assert issuer.scheme == "https"
    assert keycloak["KC_HOSTNAME"] == f"https://{issuer.netloc}"
    assert issuer.path == "/realms/citizen-vault"
    pki_dir = "/run/vault-pki/"
    for path in (
        keycloak["KC_HTTPS_CERTIFICATE_FILE"], keycloak["KC_HTTPS_CERTIFICATE_KEY_FILE"], env["SSL_CERT_FILE"],
        env["VAULT_TRUST_ROOTS"], env["VAULT_SIGNING_KEY"], env["VAULT_SIGNING_CERT"],
    ):  # fmt: skip
        assert path.startswith(pki_dir)
        assert path.removeprefix(pki_dir) in written
    tls = x509.load_pem_x509_certificate((tmp_path / "keycloak.crt").read_bytes())
    names = tls.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert issuer.hostname in names


def test_every_variable_a_citizens_signature_needs_names_a_file_the_pki_step_writes(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    subprocess.run([sys.executable, str(INIT_PKI), str(tmp_path)], check=True, capture_output=True, timeout=60)
    written = {path.name for path in tmp_path.iterdir()}
    env = vault_env(compose)
    settings = production_settings(env)
    # without an identity CA or a timestamp authority the vault answers a citizen's signature with 409
    assert settings.tsa_url == ""  # compose's default: the vault's own TSA, keyed by the pki step
    needed = ("VAULT_IDENTITY_CA_CERT", "VAULT_IDENTITY_CA_KEY", "VAULT_TSA_KEY", "VAULT_TSA_CERT", "VAULT_TRUST_ROOTS",
              "VAULT_PUBLISHED_CRLS")  # fmt: skip
    pki_dir = "/run/vault-pki/"
    for name in needed:
        assert env[name].startswith(pki_dir), name
        assert env[name].removeprefix(pki_dir) in written, name
    assert "pki:/run/vault-pki:ro" in compose["services"]["vault"]["volumes"]
    # what the vault trusts holds the identity CA and the TSA's issuer, so a citizen's signature can verify
    roots = x509.load_pem_x509_certificates((tmp_path / "trust-roots.pem").read_bytes())
    assert x509.load_pem_x509_certificate((tmp_path / "identity-ca.pem").read_bytes()) in roots
    tsa = x509.load_pem_x509_certificate((tmp_path / "tsa.pem").read_bytes())
    assert any(tsa.issuer == root.subject for root in roots)


def test_an_operator_names_an_independent_tsa_in_the_env_file(compose: dict[str, Any]) -> None:
    raw = yaml.safe_load(COMPOSE.read_text())
    # what compose.env.example's commented lines say to set
    external = {**example_env(), "VAULT_TSA_URL": "https://tsa.example.eu/", "VAULT_TSA_KEY": "", "VAULT_TSA_CERT": ""}
    settings = production_settings(vault_env(interpolate(raw, external)))
    assert (settings.tsa_url, settings.tsa_key, settings.tsa_cert) == ("https://tsa.example.eu/", "", "")
    # a URL and the own TSA's key at once is refused at start, not silently resolved
    with pytest.raises(ValidationError, match="not both"):
        production_settings(vault_env(interpolate(raw, {**example_env(), "VAULT_TSA_URL": "https://tsa.example.eu/"})))


# the realm


def test_the_realm_defines_the_vaults_roles(realm: dict[str, Any]) -> None:
    assert realm["realm"] == "citizen-vault"
    assert {role["name"] for role in realm["roles"]["realm"]} >= ROLES
    assert realm["sslRequired"] == "all"


def test_the_realm_puts_roles_agency_and_audience_where_the_vault_reads_them(
    compose: dict[str, Any], realm: dict[str, Any]
) -> None:
    env = vault_env(compose)
    assert mapper(realm, "oidc-usermodel-realm-role-mapper")["claim.name"] == env["VAULT_OIDC_ROLES_CLAIM"]
    agency = mapper(realm, "oidc-usermodel-attribute-mapper")
    assert agency["claim.name"] == env["VAULT_OIDC_AGENCY_CLAIM"]
    assert agency["user.attribute"] == "agency"
    audience = mapper(realm, "oidc-audience-mapper")
    assert audience["included.custom.audience"] == env["VAULT_OIDC_AUDIENCE"]
    for config in (mapper(realm, kind) for kind in ("oidc-usermodel-realm-role-mapper", "oidc-audience-mapper")):
        assert config["access.token.claim"] == "true"
    assert agency["access.token.claim"] == "true"


def test_the_portal_client_issues_rfc9068_tokens_with_pkce_and_no_secret(realm: dict[str, Any]) -> None:
    portal = client(realm)
    assert portal["attributes"]["access.token.header.type.rfc9068"] == "true"  # typ at+jwt, else refused
    assert portal["attributes"]["pkce.code.challenge.method"] == "S256"
    assert portal["publicClient"] is True
    assert not portal["directAccessGrantsEnabled"]
    assert not portal["implicitFlowEnabled"]
    assert "secret" not in portal
    assert "users" not in realm  # no committed accounts or passwords


def test_only_realm_administrators_can_set_an_officers_agency(realm: dict[str, Any]) -> None:
    (provider,) = realm["components"]["org.keycloak.userprofile.UserProfileProvider"]
    profile = json.loads(provider["config"]["kc.user.profile.config"][0])
    (agency,) = [attribute for attribute in profile["attributes"] if attribute["name"] == "agency"]
    assert agency["permissions"]["edit"] == ["admin"]  # a user who could edit it could claim any agency
    assert profile["unmanagedAttributePolicy"] != "ENABLED"


def keycloak_claims(realm: dict[str, Any], issuer: str, now: int) -> dict[str, Any]:
    """The access-token claims Keycloak's mappers produce for an agency officer (dots nest, as in Keycloak)."""
    claims: dict[str, Any] = {"iss": issuer, "sub": "3f1c-officer", "iat": now, "exp": now + 300, "jti": "t-1"}
    claims["aud"] = [mapper(realm, "oidc-audience-mapper")["included.custom.audience"], "account"]
    outer, inner = mapper(realm, "oidc-usermodel-realm-role-mapper")["claim.name"].split(".")
    claims[outer] = {inner: ["agency", "default-roles-citizen-vault", "offline_access"]}
    claims[mapper(realm, "oidc-usermodel-attribute-mapper")["claim.name"]] = "tax-office"
    claims["client_id"] = mapper(realm, "oidc-hardcoded-claim-mapper")["claim.value"]
    return claims


async def test_a_token_shaped_by_the_realm_is_accepted_by_the_validator_compose_configures(
    compose: dict[str, Any], realm: dict[str, Any]
) -> None:
    settings = production_settings(vault_env(compose))
    key = RSAKey.generate_key(2048, parameters={"kid": "kc-1", "use": "sig", "alg": "RS256"})
    issuer = settings.resolved_issuer

    def keycloak(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/.well-known/openid-configuration"):
            return httpx.Response(200, json={"issuer": issuer, "jwks_uri": f"{issuer}/protocol/openid-connect/certs"})
        return httpx.Response(200, json={"keys": [key.as_dict(private=False)]})

    policy = TokenPolicy(
        issuer=issuer, audience=settings.oidc_audience, roles_claim=settings.oidc_roles_claim,
        agency_claim=settings.oidc_agency_claim, max_lifetime_seconds=settings.oidc_max_token_lifetime_seconds,
        require_https=True,
    )  # fmt: skip
    now = 1_800_000_000
    header = {"alg": "RS256", "typ": "at+jwt", "kid": "kc-1"}
    token = jwt.encode(header, keycloak_claims(realm, issuer, now), key, algorithms=["RS256"])
    async with httpx.AsyncClient(transport=httpx.MockTransport(keycloak)) as http:
        validator = TokenValidator(policy, JwksCache(issuer, http, require_https=True), clock=lambda: now)
        principal = await validator.validate(token)
    assert ROLES & principal.roles == {"agency"}
    assert principal.agency == "tax-office"
    assert principal.client_id == "citizen-vault-portal"


# the Dockerfile and what it copies


def dockerfile_stages() -> list[list[str]]:
    """Instructions (continuations joined, comments dropped) grouped by stage; ARG defaults substituted."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", "\n".join(lines), flags=re.MULTILINE))
    stages: list[list[str]] = [[]]
    for line in lines:
        resolved = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m[1], m[0]), line)
        if resolved.startswith("FROM ") and stages[-1] and any(s.startswith("FROM ") for s in stages[-1]):
            stages.append([])
        stages[-1].append(resolved)
    return stages


def test_the_base_images_are_pinned_to_a_patch_release() -> None:
    for stage in dockerfile_stages():
        (base,) = [line.split()[1] for line in stage if line.startswith("FROM ")]
        assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", base), base


def test_the_runtime_runs_as_a_non_root_user_with_a_healthcheck() -> None:
    runtime = dockerfile_stages()[-1]
    (user,) = [line.split()[1] for line in runtime if line.startswith("USER ")]
    assert user.split(":")[0] not in {"0", "root"}
    assert any(line.startswith("HEALTHCHECK ") and "/health" in line for line in runtime)
    (entrypoint,) = [json.loads(line.removeprefix("ENTRYPOINT ")) for line in runtime if line.startswith("ENTRYPOINT")]
    assert entrypoint[:2] == ["/usr/bin/tini", "--"]
    assert any(line.startswith("COPY ") and "deploy/docker-entrypoint.sh" in line and entrypoint[2] in line
               for line in runtime)  # fmt: skip


def test_dependencies_are_installed_from_the_lock_with_hashes() -> None:
    build = " ".join(dockerfile_stages()[0])
    assert "COPY requirements.lock" in build
    assert "--require-hashes" in build
    assert "-r requirements.lock" in build
    assert "pip install --no-deps ." in build  # the project itself adds nothing unlocked


def test_every_copied_path_exists() -> None:
    for stage in dockerfile_stages():
        for line in stage:
            if line.startswith("COPY ") and "--from=" not in line:
                sources = [part for part in line.split()[1:-1] if not part.startswith("--")]
                assert all((REPO / source).exists() for source in sources), line


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_lock_pins_every_dependency_of_the_project_with_hashes() -> None:
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = {normalise(re.split(r"[\[<>=!~; ]", spec, maxsplit=1)[0]) for spec in project["dependencies"]}
    text = LOCK.read_text()
    pinned = {normalise(name) for name in re.findall(r"^([A-Za-z0-9_.\-]+)==", text, flags=re.MULTILINE)}
    assert wanted <= pinned, f"regenerate requirements.lock (see its header): missing {sorted(wanted - pinned)}"
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    assert all("--hash=sha256:" in block for block in blocks if "==" in block)


# the entrypoint script, with a stand-in `vault` that prints what it was given


@pytest.fixture
def stub_path(tmp_path: Path) -> str:
    stub = tmp_path / "vault"
    stub.write_text('#!/bin/sh\necho "VAULT_ENV=${VAULT_ENV:-} URL=${VAULT_PUBLIC_URL:-} ARGS=$*"\n')
    stub.chmod(0o755)
    return f"{tmp_path}{os.pathsep}{os.environ['PATH']}"


def run_entrypoint(path: str, *args: str, **env: str) -> str:
    base = {"PATH": path, "VAULT_ENV": "production", **env}
    result = subprocess.run(
        ["sh", str(ENTRYPOINT), *args], check=False, env=base, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


SERVE = "ARGS=serve --host 0.0.0.0 --port 8000"
EMBEDDED = f"VAULT_ENV=development URL=http://127.0.0.1:8000 {SERVE}"


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        ((), {}, f"VAULT_ENV=production URL= {SERVE}"),
        (("embedded",), {}, EMBEDDED),
        ((), {"VAULT_EMBEDDED": "1"}, EMBEDDED),
        (("embedded",), {"VAULT_PUBLIC_URL": "http://v.test"}, f"VAULT_ENV=development URL=http://v.test {SERVE}"),
        (("vault", "db", "upgrade"), {}, "VAULT_ENV=production URL= ARGS=db upgrade"),
        (("vault", "db", "upgrade"), {"VAULT_EMBEDDED": "1"}, "VAULT_ENV=production URL= ARGS=db upgrade"),
    ],
)
def test_the_entrypoint_serves_production_or_the_embedded_defaults(
    stub_path: str, args: tuple[str, ...], env: dict[str, str], expected: str
) -> None:
    assert run_entrypoint(stub_path, *args, **env) == expected


def test_the_postgres_init_script_is_valid_shell() -> None:
    subprocess.run(["sh", "-n", str(REPO / "deploy" / "postgres" / "10-keycloak.sh")], check=True, timeout=30)


# the compose PKI step


def test_the_pki_step_writes_a_chain_the_services_can_use_and_keeps_what_exists(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(INIT_PKI), str(tmp_path)], check=True, capture_output=True, timeout=60)
    ca = x509.load_pem_x509_certificate((tmp_path / "ca.pem").read_bytes())
    for name in ("keycloak.crt", "seal.pem"):
        cert = x509.load_pem_x509_certificate((tmp_path / name).read_bytes())
        cert.verify_directly_issued_by(ca)
        assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    seal = x509.load_pem_x509_certificate((tmp_path / "seal.pem").read_bytes())
    assert seal.extensions.get_extension_for_class(x509.KeyUsage).value.content_commitment
    assert (tmp_path / "ca-bundle.pem").read_bytes().endswith((tmp_path / "ca.pem").read_bytes())
    identity = x509.load_pem_x509_certificate((tmp_path / "identity-ca.pem").read_bytes())
    identity.verify_directly_issued_by(identity)  # a root of its own: its key mints nothing the compose CA vouches for
    assert identity.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0
    tsa = x509.load_pem_x509_certificate((tmp_path / "tsa.pem").read_bytes())
    tsa.verify_directly_issued_by(ca)
    usage = tsa.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert (usage.critical, list(usage.value)) == (True, [x509.ExtendedKeyUsageOID.TIME_STAMPING])
    roots = (tmp_path / "trust-roots.pem").read_bytes()
    assert roots == (tmp_path / "ca.pem").read_bytes() + (tmp_path / "identity-ca.pem").read_bytes()
    for key in ("ca.key", "keycloak.key", "seal.key", "identity-ca.key", "tsa.key"):
        assert (tmp_path / key).stat().st_mode & 0o077 == 0
    # an operator's own seal is kept: a second run rewrites only the CA bundle
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    result = subprocess.run([sys.executable, str(INIT_PKI), str(tmp_path)], check=True, capture_output=True, text=True)
    assert result.stdout.strip() == "compose PKI: wrote ca-bundle.pem"
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == before


def test_an_identity_ca_added_to_an_older_pki_volume_joins_the_operators_trust_roots(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(INIT_PKI), str(tmp_path)], check=True, capture_output=True, timeout=60)
    operators = b"-----BEGIN CERTIFICATE-----\noperator's own root\n-----END CERTIFICATE-----\n"
    (tmp_path / "trust-roots.pem").write_bytes(operators)
    for name in ("identity-ca.pem", "identity-ca.key"):  # a volume from before the identity CA existed
        (tmp_path / name).unlink()

    result = subprocess.run([sys.executable, str(INIT_PKI), str(tmp_path)], check=True, capture_output=True, text=True)

    assert "identity-ca.pem" in result.stdout
    assert (tmp_path / "trust-roots.pem").read_bytes() == operators + (tmp_path / "identity-ca.pem").read_bytes()


def _crl_urls(cert: x509.Certificate) -> list[str]:
    points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    return [str(name.value) for point in points for name in point.full_name or ()]


def test_the_pki_step_publishes_the_ca_crl_the_tsa_and_seal_certificates_name(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    public_url = compose["services"]["pki"]["environment"]["VAULT_PUBLIC_URL"]
    assert public_url == vault_env(compose)["VAULT_PUBLIC_URL"]  # the step and the vault agree on the URL
    env = {**os.environ, "VAULT_PUBLIC_URL": public_url}

    def run() -> str:
        done = subprocess.run([sys.executable, str(INIT_PKI), str(tmp_path)], check=True, capture_output=True,
                              text=True, env=env)  # fmt: skip
        return done.stdout.strip()

    run()
    ca = x509.load_pem_x509_certificate((tmp_path / "ca.pem").read_bytes())
    crl = x509.load_der_x509_crl((tmp_path / "compose-ca.crl").read_bytes())
    assert crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    assert crl.next_update_utc is not None
    assert crl.next_update_utc - crl.last_update_utc == dt.timedelta(days=365)
    assert (tmp_path / "compose-ca.crl").stat().st_mode & 0o777 == 0o644
    url = f"{public_url}/pki/compose-ca.crl"
    for name in ("tsa.pem", "seal.pem"):
        assert _crl_urls(x509.load_pem_x509_certificate((tmp_path / name).read_bytes())) == [url], name
    assert run() == "compose PKI: wrote ca-bundle.pem"  # nothing else changes on a second run

    # an older volume: a TSA certificate without the CRL location is issued again, for the same key
    old = x509.load_pem_x509_certificate((tmp_path / "tsa.pem").read_bytes())
    env["VAULT_PUBLIC_URL"] = "https://vault.example"
    assert run() == "compose PKI: wrote tsa.pem, seal.pem, ca-bundle.pem"
    new = x509.load_pem_x509_certificate((tmp_path / "tsa.pem").read_bytes())
    new.verify_directly_issued_by(ca)
    assert new.public_key() == old.public_key()
    assert _crl_urls(new) == ["https://vault.example/pki/compose-ca.crl"]
    assert new.extensions.get_extension_for_class(x509.ExtendedKeyUsage) == old.extensions.get_extension_for_class(
        x509.ExtendedKeyUsage
    )
