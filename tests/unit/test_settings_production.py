"""Production refuses every development default: each required setting on its own, and an app built from
settings that skipped validation (defence in depth: no /dev-idp route, no key written)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from signing import Pkcs11Spec, TimestampAuthoritySpec, ensure_dev_pki
from tests.unit.test_settings_oidc import PRODUCTION
from vault.app import create_app
from vault.settings import ConfigurationError, Settings

REQUIRED = {
    "database_url": "VAULT_DATABASE_URL",
    "storage_url": "VAULT_STORAGE_URL",
    "key_provider": "VAULT_KEY_PROVIDER",
    "oidc_issuer": "VAULT_OIDC_ISSUER",
    "trust_roots": "VAULT_TRUST_ROOTS",
}


def _settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize(("field", "variable"), REQUIRED.items())
def test_each_required_production_setting_is_required(field: str, variable: str) -> None:
    values = {k: v for k, v in PRODUCTION.items() if k != field}
    with pytest.raises(ValidationError, match=variable):
        _settings(**values)


@pytest.mark.parametrize("missing", ["signing_key", "signing_cert"])
def test_production_needs_a_seal(missing: str) -> None:
    with pytest.raises(ValidationError, match="needs a seal"):
        _settings(**{k: v for k, v in PRODUCTION.items() if k != missing})


@pytest.mark.parametrize(
    ("field", "value"), [("database_url", "sqlite+aiosqlite:///x.db"), ("storage_url", "file:///var/objects")]
)
def test_production_needs_postgresql_and_s3(field: str, value: str) -> None:
    with pytest.raises(ValidationError, match="PostgreSQL and an S3"):
        _settings(**{**PRODUCTION, field: value})


def test_an_app_refuses_production_settings_that_skipped_validation(tmp_path: Path) -> None:
    unchecked = Settings.model_construct(env="production", data_dir=tmp_path / "var")
    with pytest.raises(ConfigurationError, match="production mode refuses development defaults"):
        create_app(unchecked)
    assert not (tmp_path / "var").exists()  # no data directory, no development provider key written


def test_a_production_app_serves_no_development_provider(tmp_path: Path) -> None:
    settings = _settings(**{**PRODUCTION, "data_dir": str(tmp_path / "var")})
    app = create_app(settings)
    paths = {route.path for route in app.routes}
    assert not any(path.startswith("/dev-idp") for path in paths)
    assert not (tmp_path / "var" / "dev-idp-key.pem").exists()


def test_production_accepts_the_services_own_tsa_given_both_halves_and_no_url() -> None:
    # an operator-keyed TSA is configured key material like the seal, not a development default
    own = _settings(**{**PRODUCTION, "tsa_key": "/run/vault-pki/tsa.key", "tsa_cert": "/run/vault-pki/tsa.pem"})
    assert (own.tsa_key, own.tsa_url) == ("/run/vault-pki/tsa.key", "")
    with pytest.raises(ValidationError, match="both VAULT_TSA_KEY and VAULT_TSA_CERT"):
        _settings(**{**PRODUCTION, "tsa_key": "/run/vault-pki/tsa.key"})
    with pytest.raises(ValidationError, match="not both"):
        _settings(**{**PRODUCTION, "tsa_url": "https://tsa.example", "tsa_key": "k.pem", "tsa_cert": "c.pem"})


def test_the_own_tsa_needs_a_timestamping_certificate(tmp_path: Path) -> None:
    from vault.signatures.setup import build_signing

    pki = ensure_dev_pki(tmp_path / "elsewhere")
    not_a_tsa = _settings(
        data_dir=str(tmp_path / "var"), tsa_key=str(pki.seal_key_path), tsa_cert=str(pki.seal_cert_path)
    )
    with pytest.raises(ValueError, match="timeStamping"):
        build_signing(not_a_tsa)
    setup = build_signing(
        not_a_tsa.model_copy(update={"tsa_key": str(pki.key_path("tsa")), "tsa_cert": str(pki.cert_path("tsa"))})
    )
    try:
        assert (setup.tsa_url, setup.timestamping) == (None, True)  # answered in-process, not the development TSA
        # the signing workers answer with the same key, each loading it itself
        own = TimestampAuthoritySpec(pki.cert_path("tsa"), pki.key_path("tsa"), ())
        assert setup.pool.config.timestamp_authority == own
    finally:
        setup.close()


def test_the_signing_workers_open_an_own_tsa_key_in_a_token_themselves(monkeypatch: pytest.MonkeyPatch) -> None:
    from vault.signatures.setup import _own_tsa_spec

    monkeypatch.setenv("TSA_PIN", "1234")
    own = _settings(
        tsa_key="pkcs11:/usr/lib/softhsm/libsofthsm2.so?token=vault&pin-env=TSA_PIN&key=tsa",
        tsa_cert="/run/vault-pki/tsa.pem",
        tsa_chain="/run/vault-pki/ca.pem",
    )
    assert _own_tsa_spec(own) == TimestampAuthoritySpec(
        Path("/run/vault-pki/tsa.pem"),
        Pkcs11Spec("/usr/lib/softhsm/libsofthsm2.so", "vault", "1234", "tsa"),
        (Path("/run/vault-pki/ca.pem"),),
    )


def test_the_signing_workers_use_the_development_tsa_only_without_another(tmp_path: Path) -> None:
    from vault.signatures.setup import build_signing

    setup = build_signing(_settings(data_dir=str(tmp_path / "var")))
    try:
        pki = ensure_dev_pki(tmp_path / "var" / "dev-pki")
        development = TimestampAuthoritySpec(pki.cert_path("tsa"), pki.key_path("tsa"), (pki.issuing_cert_path,))
        assert setup.pool.config.timestamp_authority == development
    finally:
        setup.close()
    external = build_signing(_settings(data_dir=str(tmp_path / "var"), tsa_url="https://tsa.example/"))
    try:  # an external TSA is asked over HTTP by the workers too
        assert (external.pool.config.timestamp_authority, external.pool.config.tsa_url) == (
            None,
            "https://tsa.example/",
        )
    finally:
        external.close()
