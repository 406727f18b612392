"""What an instance checks before it serves: its key provider opens, and the settings every instance must share
agree with the deployment's. `vault serve` runs `check_start` before it listens, so that a configuration that
cannot run is one line on stderr (and exit status 2), not a traceback from the app's lifespan."""

from __future__ import annotations

import logging
import os

import storage
from vault.accounts.keys import KeyService
from vault.core.database import Database, create_engine
from vault.core.deployment import SettingsDisagree, agree_on
from vault.core.errors import IntegrityFailure, UpstreamUnavailable
from vault.settings import ConfigurationError, Settings

__all__ = ("agree_with_the_deployment", "check_start", "open_key_provider")

log = logging.getLogger(__name__)


def open_key_provider(settings: Settings) -> storage.KeyProvider:
    """The configured key provider, or a ConfigurationError naming VAULT_KEY_PROVIDER, the file or token, and why
    (an instance never starts without its keys, and never makes a new keyring in place of one it cannot read)."""
    url = settings.resolved_key_provider
    try:
        return storage.key_provider_from_url(url)
    except storage.StorageError as exc:
        cause = exc.__cause__
        why = f"cannot be read ({cause.strerror})" if isinstance(cause, OSError) and cause.strerror else exc.detail
        raise ConfigurationError(f"VAULT_KEY_PROVIDER ({_provider_place(url)}): {why}") from exc
    except ValueError as exc:
        raise ConfigurationError(f"VAULT_KEY_PROVIDER: {exc}") from exc


def _provider_place(url: str) -> str:
    """Where the keys are, for an operator: the keyring file, or the PKCS#11 module and token (never a PIN)."""
    base, _, query = url.partition("?")
    if base.startswith("local:"):
        return f"keyring file {base.removeprefix('local:')}"
    token = next((v for k, _, v in (p.partition("=") for p in query.split("&")) if k == "token"), "?")
    return f"PKCS#11 module {base.removeprefix('pkcs11:')}, token {token}"


async def check_start(settings: Settings) -> None:
    """What `vault serve` checks before it listens, so that a configuration that cannot run is one line on
    stderr, not a traceback from the app's lifespan: the key provider opens, and the settings agree with the
    deployment's (see `agree_with_the_deployment`).

    Raises:
        ConfigurationError: Naming the setting (and the file) at fault.
    """
    provider = open_key_provider(settings)
    db = Database(create_engine(settings.resolved_database_url, pool_size=1, pool_timeout=settings.db_pool_timeout))
    try:
        await agree_with_the_deployment(settings, db, KeyService(provider))
    finally:
        await db.dispose()
        if callable(close_provider := getattr(provider, "close", None)):
            close_provider()


async def agree_with_the_deployment(settings: Settings, db: Database, keys: KeyService) -> None:
    """Refuse to start with settings another instance of this deployment does not share (when the database
    answers; an instance that starts during an outage checks nothing and reports itself unready)."""
    agreed = {"VAULT_OIDC_ISSUER": settings.resolved_issuer, "VAULT_AUDIT_ORIGIN": settings.resolved_audit_origin}
    try:
        await agree_on(db, agreed)
        async with db.transaction() as session:
            await keys.service_secret(session, "key-provider-probe", lambda: os.urandom(32))
    except SettingsDisagree as exc:
        raise ConfigurationError(str(exc)) from exc
    except IntegrityFailure as exc:
        raise ConfigurationError(
            "the key provider cannot unwrap this deployment's keys: every instance must use the same keyring "
            "or HSM key (VAULT_KEY_PROVIDER; copy the first instance's keyring file)"
        ) from exc
    except UpstreamUnavailable:
        log.warning("database or key provider unavailable at start; settings are not checked against the deployment")
