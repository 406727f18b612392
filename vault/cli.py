"""The `vault` command: serve, development tokens, offline verification, operator tasks."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vault.settings import Settings

__all__ = ("main",)


def _settings(**overrides: Any) -> Settings:
    from vault.settings import Settings

    return Settings(**overrides)


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from vault.app import create_app
    from vault.migrations import upgrade

    public_url = f"http://{args.host}:{args.port}"
    settings = _settings()
    if not settings.public_url:
        settings = _settings(public_url=public_url)
    settings.prepare_data_dir()
    if settings.auto_migrate:
        upgrade(settings.resolved_database_url)
    from vault.startup import check_start

    asyncio.run(check_start(settings))  # a ConfigurationError here is one line and exit status 2 (see main)
    from vault.http.observability import configure_logging
    from vault.serving import uvicorn_options

    configure_logging(settings.log_format)
    _print_banner(settings)
    options = uvicorn_options(settings.serve_limits, workers=args.workers)
    if args.workers > 1:
        # each worker process builds its own app from the same settings (nothing is shared in memory)
        os.environ.setdefault("VAULT_PUBLIC_URL", settings.resolved_public_url)
        options["factory"] = True
        target: Any = "vault.serving:worker_app"
    else:
        target = create_app(settings)
    uvicorn.run(
        target,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
        log_config=None,
        proxy_headers=bool(args.forwarded_allow_ips),
        forwarded_allow_ips=args.forwarded_allow_ips or None,
        root_path=args.root_path,
        timeout_graceful_shutdown=args.graceful_seconds,
        **options,
    )
    return 0


def _print_banner(settings: Settings) -> None:
    from auth import DEMO_USERS

    url = settings.resolved_public_url
    print(f"Citizen Vault on {url}  (API docs: {url}/schema)")
    print(f"  data directory: {settings.resolved_data_dir}   mode: {settings.env}")
    if settings.uses_dev_identity_provider:
        print(f"  development identity provider: {settings.resolved_issuer}")
        print("  demo users: " + ", ".join(f"{name} ({', '.join(sorted(u.roles))})" for name, u in DEMO_USERS.items()))
        url_option = "" if url == "http://127.0.0.1:8000" else f" --url {url}"
        print(f"  get a token:  TOKEN=$(.venv/bin/vault token alice{url_option})")
        print(f'  then:         curl -H "Authorization: Bearer $TOKEN" {url}/api/v1/me')
    sys.stdout.flush()


def _cmd_token(args: argparse.Namespace) -> int:
    """Ask the running service's development provider for a token (so it works from any directory)."""
    import httpx

    from auth import DEV_USER_GRANT_TYPE

    url = (args.url or os.environ.get("VAULT_PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/")
    form = {"grant_type": DEV_USER_GRANT_TYPE, "username": args.user, "client_id": "vault-cli"}
    try:
        response = httpx.post(f"{url}/dev-idp/token", data=form, timeout=10)
    except httpx.HTTPError as exc:
        print(f"no vault answers at {url} ({exc.__class__.__name__}); start it with ./scripts/serve", file=sys.stderr)
        return 2
    if response.status_code == 404:
        print(f"{url} has no development identity provider (production or an external issuer)", file=sys.stderr)
        return 2
    body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    if response.status_code != 200 or "access_token" not in body:
        print(f"no token: {body.get('error_description') or response.text[:200]}", file=sys.stderr)
        return 2
    print(body["access_token"])
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from vault.signatures.offline import verify_file_cli

    return verify_file_cli(
        Path(args.file),
        [Path(p) for p in args.trust],
        as_json=args.json,
        trusted_list=Path(args.trusted_list) if args.trusted_list else None,
        trusted_list_signers=[Path(p) for p in args.trusted_list_signer],
    )


def _cmd_audit_verify(args: argparse.Namespace) -> int:
    from vault.audit.verify import main as verify_main

    return verify_main(
        [args.bundle, *(["--key", args.key] if args.key else []), *(["--unpinned"] if args.unpinned else [])]
    )


def _cmd_audit_verify_receipt(args: argparse.Namespace) -> int:
    from vault.audit.receipts import main as receipt_main

    return receipt_main([args.receipt, "--key", args.key])


def _cmd_keys_rotate(_: argparse.Namespace) -> int:
    import storage
    from vault.accounts.keys import KeyService
    from vault.core.database import Database, create_engine

    settings = _settings()
    provider = storage.key_provider_from_url(settings.resolved_key_provider)
    version = provider.rotate()
    keys = KeyService(provider)

    async def rewrap() -> int:
        db = Database(create_engine(settings.resolved_database_url))
        try:
            async with db.transaction() as session:
                return await keys.rewrap_all(session)
        finally:
            await db.dispose()

    count = asyncio.run(rewrap())
    print(f"KEK version {version} is current; rewrapped {count} subject keys")
    return 0


def _cmd_db_upgrade(_: argparse.Namespace) -> int:
    from vault.migrations import upgrade

    settings = _settings()
    settings.resolved_data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    upgrade(settings.resolved_database_url)
    print("database is at the newest revision")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vault", description="Citizen document vault and e-signature service")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="worker processes (each a full, stateless instance)")
    serve.add_argument(
        "--forwarded-allow-ips",
        default="",
        help="proxies trusted for X-Forwarded-For/-Proto (comma-separated IPs or CIDRs); empty trusts none",
    )
    serve.add_argument("--root-path", default="", help="the path prefix a reverse proxy serves the vault under")
    serve.add_argument(
        "--graceful-seconds", type=int, default=30, help="on SIGTERM, how long running requests (uploads) may finish"
    )
    serve.set_defaults(func=_cmd_serve)
    token = sub.add_parser("token", help="print an access token for a demo user (development provider only)")
    token.add_argument("user")
    token.add_argument("--url", help="the service's public URL (default: VAULT_PUBLIC_URL or http://127.0.0.1:8000)")
    token.set_defaults(func=_cmd_token)
    verify = sub.add_parser("verify", help="verify the signatures of a PDF offline")
    verify.add_argument("file")
    verify.add_argument("--trust", action="append", default=[], help="PEM trust root (repeatable)")
    verify.add_argument("--json", action="store_true")
    verify.add_argument("--trusted-list", help="EU trusted list (ETSI TS 119 612 XML): report qualified status")
    verify.add_argument(
        "--trusted-list-signer", action="append", default=[], help="PEM certificate that signed the list (repeatable)"
    )
    verify.set_defaults(func=_cmd_verify)
    audit = sub.add_parser("audit", help="audit log tools").add_subparsers(dest="audit_command", required=True)
    audit_verify = audit.add_parser("verify", help="verify an exported audit bundle offline")
    audit_verify.add_argument("bundle")
    audit_verify.add_argument("--key", help="the log's verifier key, pinned out of band (GET /api/v1/audit/key)")
    audit_verify.add_argument(
        "--unpinned", action="store_true", help="trust the bundle's own key (proves only self-consistency)"
    )
    audit_verify.set_defaults(func=_cmd_audit_verify)
    receipt = audit.add_parser("verify-receipt", help="verify an access-log receipt offline")
    receipt.add_argument("receipt")
    receipt.add_argument("--key", required=True, help="the log's verifier key, pinned out of band")
    receipt.set_defaults(func=_cmd_audit_verify_receipt)
    keys = sub.add_parser("keys", help="key management").add_subparsers(dest="keys_command", required=True)
    keys.add_parser("rotate", help="add a KEK version and rewrap every subject key").set_defaults(func=_cmd_keys_rotate)
    db = sub.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="apply migrations").set_defaults(func=_cmd_db_upgrade)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from pydantic import ValidationError

    from vault.settings import ConfigurationError

    args = _parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ValidationError as exc:
        for error in exc.errors():
            print(f"configuration error: {error['msg'].removeprefix('Value error, ')}", file=sys.stderr)
        return 2
    except ConfigurationError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
