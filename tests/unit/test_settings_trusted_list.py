"""VAULT_TRUSTED_LIST in production: the list's signature must be checked, so its signer is required."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tests.unit.test_settings_oidc import PRODUCTION
from vault.settings import Settings


def _settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_production_checks_the_trusted_lists_signature() -> None:
    with pytest.raises(ValidationError, match="VAULT_TRUSTED_LIST_SIGNER"):
        _settings(**{**PRODUCTION, "trusted_list": "/etc/vault/tl.xml"})
    checked = _settings(
        **{**PRODUCTION, "trusted_list": "/etc/vault/tl.xml", "trusted_list_signer": "/etc/vault/tlso.pem"}
    )
    assert checked.trusted_list_signer_paths == (Path("/etc/vault/tlso.pem"),)


def test_development_reads_a_list_without_a_signer() -> None:
    assert _settings(trusted_list="/tmp/tl.xml").trusted_list_signer_paths == ()
