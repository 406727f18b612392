"""Many instances by design: settings that must agree are recorded by the first instance; another instance
with a different issuer, audit origin or keyring refuses to start and names the setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar.testing import TestClient

from tests.support.vault_app import make_settings, migrate, vault_client
from vault.app import create_app
from vault.settings import ConfigurationError, Settings


def _refusal(settings: Settings) -> str:
    """Start an app and return why it refused to start (the lifespan's ConfigurationError)."""
    migrate(settings)
    with pytest.raises(BaseException) as caught, TestClient(create_app(settings)):
        pass
    error: BaseException = caught.value
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    assert isinstance(error, ConfigurationError), repr(error)
    return str(error)


def test_a_second_instance_with_another_public_url_refuses_to_start(tmp_path: Path, database_url: str) -> None:
    shared = {"data_dir": tmp_path / "var", "database_url": database_url}
    with vault_client(make_settings(tmp_path, **shared, public_url="https://vault.example")):
        pass
    assert "VAULT_OIDC_ISSUER" in _refusal(make_settings(tmp_path, **shared, public_url="https://other.example"))


def test_a_second_instance_with_its_own_keyring_refuses_to_start(tmp_path: Path, database_url: str) -> None:
    first = make_settings(tmp_path, database_url, data_dir=tmp_path / "one", public_url="https://vault.example")
    with vault_client(first):
        pass
    second = make_settings(tmp_path, database_url, data_dir=tmp_path / "two", public_url="https://vault.example")
    assert "same keyring" in _refusal(second)


def test_instances_that_agree_start_side_by_side(tmp_path: Path, database_url: str) -> None:
    keyring = f"local:{tmp_path / 'keyring.json'}?create=true"
    common = {"key_provider": keyring, "public_url": "https://vault.example"}
    one = make_settings(tmp_path, database_url, data_dir=tmp_path / "one", **common)
    two = make_settings(tmp_path, database_url, data_dir=tmp_path / "two", **common)
    with vault_client(one) as first, vault_client(two) as second:
        assert first.get("/ready").status_code == 200
        assert second.get("/ready").status_code == 200
