"""Typed, frozen settings loaded once from the environment (and a `.env` file); production refuses dev defaults."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from vault.serving import ServeLimits

__all__ = ("ConfigurationError", "Settings")

GIB = 1024**3


class ConfigurationError(ValueError):
    """The configuration cannot run: say which variable and why."""


class Settings(BaseSettings):
    """Every knob of the service. Field names map to `VAULT_<NAME>` environment variables.

    Attributes:
        env: `development` or `production`; production refuses every development default.
        data_dir: where the embedded defaults keep their files.
        database_url: SQLAlchemy URL; default SQLite in the data directory.
        storage_url: `file:///path` or `s3://ACCESS:SECRET@host:port/bucket?secure=false&region=...`.
        key_provider: `local:/path/keyring.json` or `pkcs11:<module>?token=..&pin-env=..&label=..`.
        oidc_issuer: issuer URL of the identity provider; empty selects the built-in development provider.
        oidc_audience: the `aud` every access token must carry.
        oidc_roles_claim: dotted path to the roles list in the token.
        oidc_agency_claim: claim naming an agency officer's agency.
        oidc_algorithms: comma-separated JWS algorithms accepted on access tokens.
        oidc_max_token_lifetime_seconds: longest accepted access-token lifetime (`exp - iat`, and `exp` from now).
        public_url: the URL clients reach the service at (used for the development issuer).
        max_upload_bytes: largest accepted document.
        tsa_url: RFC 3161 timestamp authority for B-T and higher signatures.
        tsa_key / tsa_cert / tsa_chain: the service's own timestamp authority, answered in-process, instead of
            `tsa_url` (an operator-keyed TSA: its certificate must carry the critical timeStamping extended key
            usage and chain to a trust root); the key is a PEM file or a `pkcs11:` URL as for the identity CA.
        trust_roots: comma-separated PEM files trusted when verifying signatures.
        trusted_list: an EU trusted list (ETSI TS 119 612 XML file): its granted qualified CA and timestamping
            services are trusted too, and verification reports the qualified status of signers and timestamps.
        trusted_list_signer: comma-separated PEM files of the list operator's certificates; the list's XML
            signature must verify against one of them (required in production when a list is configured).
        signing_key / signing_cert / signing_chain: the service's seal (key file signer).
        signing_pkcs11: `pkcs11:` URL of a seal key in an HSM instead of a key file.
        identity_ca_cert / identity_ca_key / identity_ca_chain: the CA that issues citizens' ten-minute signing
            certificates (development: the development PKI's identity CA); the key is a PEM file or a `pkcs11:`
            URL (`pkcs11:<module>?token=..&pin-env=..&key=..`).
        published_crls: comma-separated CRL files (DER or PEM) served at `/pki/<file name>` and embedded in B-LT
            signatures (the compose CA's, which covers the TSA's and the seal's certificates).
        agency_seals: each agency's own seal, `;`-separated `<agency>=<key>,<cert>[,<chain>...]` (PEM files) or
            `<agency>=pkcs11:...` (development: the development PKI issues one per agency on first use).
        lta_renewal_margin_days: re-timestamp a B-LTA document this long before its newest timestamp's TSA
            certificate expires.
        lta_renewal_interval_seconds: how often the renewal job looks (once per deployment).
        checkpoint_interval_seconds: how often the audit integrator keeps a checkpoint in the history (the
            latest head is signed after every batch).
        audit_batch_size: most audit entries the integrator sequences in one transaction.
        audit_poll_interval_seconds: how often the integrator looks at the queue when this instance queued
            nothing (it wakes at once when it did).
        audit_origin: the origin line of audit checkpoints (default: derived from the public URL).
        sweep_interval_seconds: how often the sweep runs (once per deployment): incomplete uploads older than
            `stale_upload_seconds` are aborted, and objects no version refers to, older than
            `reconcile_after_seconds`, are removed (each logged with its key).
        signing_fetch_revocation: check the seal's certificate online (OCSP/CRL) before signing; B-LT embeds it.
        auto_migrate: `vault serve` applies database migrations before it starts (turn off when several
            instances start at once; run `vault db upgrade` as a release step instead).
        verify_fetch_revocation: fetch OCSP/CRL while verifying (off: only what the document embeds is used,
            and no URL inside an uploaded document is ever contacted).
        db_pool_size / db_pool_timeout: database connections per instance (PostgreSQL or SQLite; no others are
            opened), and how long a request waits for one before it answers 503.
        max_header_bytes / header_timeout_seconds / body_idle_timeout_seconds / max_connections: what one
            `vault serve` process accepts: header size (431 above), time to send the headers, silence allowed
            while a body uploads, concurrent connections (503 above).
        anonymous_verify_per_minute / anonymous_link_opens_per_minute: per client address, counted in the
            database across instances (429 with Retry-After beyond).
        log_format: `text` or `json` (one JSON object per line, with the request id).
        otel_endpoint: OTLP/HTTP traces endpoint (`http://collector:4318/v1/traces`); unset: no tracing, and no
            OpenTelemetry SDK loaded.
        otel_service_name: the `service.name` of the exported spans.
        verify_max_signatures / verify_time_budget: what one verification may cost (more signatures: 422; over
            the budget, in seconds: the worker is stopped and the request answers 422).
        verify_workers / verify_queue: verification worker processes (0: one per core) and how many more
            requests may wait for one (0: as many as workers); beyond that, 503 with Retry-After.
        sign_workers / sign_queue: signing worker processes (0: one per core) and how many more signatures may
            wait for one (0: four per worker); beyond that, 503 with Retry-After.
        document_kinds: the controlled vocabulary of document kinds (comma-separated); requests ask for these
            and uploads, issuance and PATCH accept only these.
        link_password_attempts: wrong passwords a share link accepts before it answers 429 (counted in the
            database, across instances).
        web_client_id / web_client_secret: the portal's OpenID client at the provider (no secret: a public
            client relying on PKCE alone, which the built-in development provider expects).
        web_scopes: the scopes the portal's login asks for.
        web_session_idle_minutes: a portal session ends after this long without a request.
        web_session_hours: a portal session ends this long after sign-in, however active.
    """

    model_config = SettingsConfigDict(env_prefix="VAULT_", env_file=".env", extra="ignore", frozen=True)

    env: Literal["development", "production"] = "development"
    data_dir: Path = Path("./var")
    database_url: SecretStr = SecretStr("")
    storage_url: SecretStr = SecretStr("")
    key_provider: str = ""
    oidc_issuer: str = ""
    oidc_audience: str = "citizen-vault"
    oidc_roles_claim: str = "roles"
    oidc_agency_claim: str = "agency"
    oidc_algorithms: str = "RS256,PS256,ES256,EdDSA"
    oidc_max_token_lifetime_seconds: int = Field(default=3600, gt=0, le=7 * 24 * 3600)
    public_url: str = ""
    max_upload_bytes: int = Field(default=GIB, gt=0)
    tsa_url: str = ""
    tsa_key: str = ""
    tsa_cert: str = ""
    tsa_chain: str = ""
    trust_roots: str = ""
    trusted_list: str = ""
    trusted_list_signer: str = ""
    signing_key: str = ""
    signing_cert: str = ""
    signing_chain: str = ""
    signing_pkcs11: str = ""
    identity_ca_cert: str = ""
    identity_ca_key: str = ""
    identity_ca_chain: str = ""
    published_crls: str = ""
    agency_seals: str = ""
    lta_renewal_margin_days: float = Field(default=90.0, gt=0)
    lta_renewal_interval_seconds: float = Field(default=3600.0, gt=0)
    checkpoint_interval_seconds: float = Field(default=300.0, gt=0)
    audit_origin: str = ""
    audit_batch_size: int = Field(default=1000, ge=1, le=100_000)
    audit_poll_interval_seconds: float = Field(default=0.25, gt=0, le=60)
    sweep_interval_seconds: float = Field(default=900.0, gt=0)
    stale_upload_seconds: float = Field(default=3600.0, gt=0)
    reconcile_after_seconds: float = Field(default=3600.0, gt=0)
    signing_fetch_revocation: bool = True
    auto_migrate: bool = True
    verify_fetch_revocation: bool = False
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_pool_timeout: float = Field(default=5.0, gt=0, le=120)
    link_password_attempts: int = Field(default=10, ge=1, le=1000)
    document_kinds: str = (
        "birth-certificate,marriage-certificate,identity,passport,residence-permit,permit,diploma,transcript,"
        "contract,payslip,tax-assessment,tax-clearance,health,insurance,property,vehicle,certificate,other"
    )
    log_format: Literal["text", "json"] = "text"
    otel_endpoint: str = Field(default="", pattern=r"^(https?://\S+)?$")
    otel_service_name: str = Field(default="citizen-vault", min_length=1)
    anonymous_verify_per_minute: int = Field(default=30, ge=1)
    anonymous_link_opens_per_minute: int = Field(default=60, ge=1)
    verify_max_signatures: int = Field(default=20, ge=1, le=1000)
    verify_time_budget: float = Field(default=30.0, gt=0, le=600)
    verify_workers: int = Field(default=0, ge=0, le=64)
    verify_queue: int = Field(default=0, ge=0, le=1024)
    sign_workers: int = Field(default=0, ge=0, le=64)
    sign_queue: int = Field(default=0, ge=0, le=1024)
    max_header_bytes: int = Field(default=64 * 1024, ge=4096, le=1024 * 1024)
    header_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    body_idle_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    max_connections: int = Field(default=1000, ge=1)
    web_client_id: str = "citizen-vault-portal"
    web_client_secret: str = ""
    web_scopes: str = "openid profile"
    web_session_idle_minutes: float = Field(default=30.0, gt=0)
    web_session_hours: float = Field(default=12.0, gt=0)

    @model_validator(mode="after")
    def _one_timestamp_authority(self) -> Settings:
        if bool(self.tsa_key) != bool(self.tsa_cert):
            raise ConfigurationError("the service's own TSA needs both VAULT_TSA_KEY and VAULT_TSA_CERT")
        if self.tsa_key and self.tsa_url:
            raise ConfigurationError("set VAULT_TSA_URL or VAULT_TSA_KEY + VAULT_TSA_CERT, not both")
        return self

    @model_validator(mode="after")
    def _refuse_development_defaults_in_production(self) -> Settings:
        self.check_production()
        return self

    def check_production(self) -> None:
        """In production, raise ConfigurationError for any development default (the app calls this again, so
        settings built without validation cannot bring a development default into production)."""
        if self.env != "production":
            return
        required = {
            "VAULT_DATABASE_URL": self.database_url.get_secret_value(),
            "VAULT_STORAGE_URL": self.storage_url.get_secret_value(),
            "VAULT_KEY_PROVIDER": self.key_provider,
            "VAULT_OIDC_ISSUER": self.oidc_issuer,
            "VAULT_TRUST_ROOTS": self.trust_roots,
        }
        missing = [name for name, value in required.items() if not value]
        if missing:
            raise ConfigurationError("production mode refuses development defaults; set " + ", ".join(missing))
        if not (self.signing_pkcs11 or (self.signing_key and self.signing_cert)):
            raise ConfigurationError(
                "production mode needs a seal: VAULT_SIGNING_PKCS11 or VAULT_SIGNING_KEY + VAULT_SIGNING_CERT"
            )
        if self.trusted_list and not self.trusted_list_signer:
            raise ConfigurationError(
                "production mode checks the trusted list's signature: set VAULT_TRUSTED_LIST_SIGNER to the list "
                "operator's certificate"
            )
        if self.resolved_database_url.startswith("sqlite") or self.resolved_storage_url.startswith("file:"):
            raise ConfigurationError("production mode needs PostgreSQL and an S3 object store")
        from auth import is_secure_url

        if not is_secure_url(self.oidc_issuer):
            raise ConfigurationError("production mode needs an https VAULT_OIDC_ISSUER (plain http only on loopback)")

    def prepare_data_dir(self) -> Path:
        """The data directory, created 0700; refuses one that other users can read or enter."""
        path = self.resolved_data_dir
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        if path.stat().st_mode & 0o007:
            raise ConfigurationError(
                f"the data directory {path} is open to other users (mode {path.stat().st_mode & 0o777:o}); "
                f"run `chmod 700 {path}`"
            )
        return path

    # Resolved values: explicit configuration, else the embedded default under the data directory.

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(k.strip() for k in self.document_kinds.split(",") if k.strip())

    @property
    def serve_limits(self) -> ServeLimits:
        from vault.serving import ServeLimits

        return ServeLimits(
            max_header_bytes=self.max_header_bytes,
            header_timeout=self.header_timeout_seconds,
            body_idle_timeout=self.body_idle_timeout_seconds,
            max_connections=self.max_connections,
        )

    @property
    def resolved_data_dir(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @property
    def resolved_database_url(self) -> str:
        return (
            self.database_url.get_secret_value() or f"sqlite+aiosqlite:///{self.resolved_data_dir / 'vault.core.base'}"
        )

    @property
    def resolved_storage_url(self) -> str:
        return self.storage_url.get_secret_value() or f"file://{self.resolved_data_dir / 'objects'}"

    @property
    def resolved_key_provider(self) -> str:
        return self.key_provider or f"local:{self.resolved_data_dir / 'keyring.json'}?create=true"

    @property
    def resolved_public_url(self) -> str:
        return (self.public_url or "http://127.0.0.1:8000").rstrip("/")

    @property
    def resolved_issuer(self) -> str:
        return self.oidc_issuer.rstrip("/") or f"{self.resolved_public_url}/dev-idp"

    @property
    def resolved_audit_origin(self) -> str:
        if self.audit_origin:
            return self.audit_origin
        host = self.resolved_public_url.split("://", 1)[-1]
        return f"{host}/citizen-vault/audit"

    @property
    def dev_pki_url(self) -> str:
        """Where the development PKI is served (development mode): `<public URL>/dev-pki`."""
        return f"{self.resolved_public_url}/dev-pki"

    @property
    def uses_dev_identity_provider(self) -> bool:
        return not self.oidc_issuer

    @property
    def algorithms(self) -> tuple[str, ...]:
        return tuple(a.strip() for a in self.oidc_algorithms.split(",") if a.strip())

    @property
    def trust_root_paths(self) -> tuple[Path, ...]:
        return tuple(Path(p.strip()) for p in self.trust_roots.split(",") if p.strip())

    @property
    def trusted_list_signer_paths(self) -> tuple[Path, ...]:
        return tuple(Path(p.strip()) for p in self.trusted_list_signer.split(",") if p.strip())
