"""Back up and restore a production Citizen Vault: the PostgreSQL database, every object, the local keyring.

Configured like the service, by its `VAULT_*` variables (a `.env` file is not read): `VAULT_DATABASE_URL`
(PostgreSQL), `VAULT_STORAGE_URL` (S3) and `VAULT_KEY_PROVIDER` (`local:` keyring; an HSM is backed up with the
vendor's tools). Needs `pg_dump`/`pg_restore` (Debian `postgresql-client`, at least the server's major version)
and the `minio` package; it imports nothing of the vault, so it works against any release with the same layout.

    scripts/backup DEST       database.dump (pg_dump custom format), objects/<key>, keyring.json, manifest.json
    scripts/restore SRC       into an EMPTY database and an EMPTY bucket (created when missing), after checking
                              every file against the manifest; objects first, the database last

See docs/operations.md for the procedure, what a backup holds and how to keep it.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO
from urllib.parse import parse_qs, unquote, urlsplit

MANIFEST_FORMAT = 1
_PIECE = 1024 * 1024


class BackupError(Exception):
    """A backup or restore cannot go on; the message says why."""


@dataclass(frozen=True)
class Database:
    """libpq connection parameters from a SQLAlchemy PostgreSQL URL (the password travels in PGPASSWORD)."""

    host: str
    port: str
    user: str
    password: str
    name: str

    @classmethod
    def from_url(cls, url: str) -> Database:
        parts = urlsplit(url)
        if not parts.scheme.startswith("postgresql"):
            raise BackupError("VAULT_DATABASE_URL must be a PostgreSQL URL (SQLite: copy the data directory)")
        return cls(
            parts.hostname or "127.0.0.1", str(parts.port or 5432), unquote(parts.username or ""),
            unquote(parts.password or ""), parts.path.lstrip("/"),
        )  # fmt: skip

    def env(self) -> dict[str, str]:
        values = {"PGHOST": self.host, "PGPORT": self.port, "PGDATABASE": self.name, "PGCONNECT_TIMEOUT": "10"}
        if self.user:
            values["PGUSER"] = self.user
        if self.password:
            values["PGPASSWORD"] = self.password
        return {**os.environ, **values}

    def run(self, *argv: str) -> str:
        # argv is fixed by this script; only the connection parameters come from the environment
        result = subprocess.run(argv, env=self.env(), capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode != 0:
            raise BackupError(f"{argv[0]} failed: {result.stderr.strip()}")
        return result.stdout


@dataclass(frozen=True)
class Bucket:
    """An S3 bucket from a `VAULT_STORAGE_URL` (`s3://ACCESS:SECRET@host:port/bucket?secure=&region=`)."""

    client: Any
    name: str

    @classmethod
    def from_url(cls, url: str) -> Bucket:
        from minio import Minio

        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.hostname:
            raise BackupError("VAULT_STORAGE_URL must be an s3:// URL (a file:// store: copy the directory)")
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        client = Minio(
            netloc, unquote(parts.username or ""), unquote(parts.password or ""),
            secure=query.get("secure", "false").lower() == "true", region=query.get("region"),
        )  # fmt: skip
        return cls(client, parts.path.strip("/"))

    def object_keys(self) -> list[str]:
        if not self.client.bucket_exists(self.name):
            return []
        return [item.object_name for item in self.client.list_objects(self.name, recursive=True)]

    def download(self, key: str, target: BinaryIO) -> tuple[int, str]:
        digest, size = hashlib.sha256(), 0
        response = self.client.get_object(self.name, key)
        try:
            for piece in response.stream(_PIECE):
                digest.update(piece)
                size += len(piece)
                target.write(piece)
        finally:
            response.close()
            response.release_conn()
        return size, digest.hexdigest()


def keyring_path(key_provider: str) -> Path | None:
    """The keyring file of a `local:` key provider, or None for an HSM (backed up with the vendor's tools)."""
    if key_provider.startswith("local:"):
        return Path(key_provider.removeprefix("local:").split("?", 1)[0])
    if key_provider.startswith("pkcs11:"):
        return None
    raise BackupError("VAULT_KEY_PROVIDER must be local:/path/keyring.json or pkcs11:...")


def _object_path(root: Path, key: str) -> Path:
    relative = PurePosixPath(key)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise BackupError(f"refusing an object key that leaves the backup directory: {key!r}")
    return root.joinpath(*relative.parts)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while piece := handle.read(_PIECE):
            digest.update(piece)
    return digest.hexdigest()


def _env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise BackupError(f"{name} is not set")
    return value


def backup(destination: Path) -> dict[str, Any]:
    """Dump the database, then copy every object and the keyring into `destination` (new or empty)."""
    database = Database.from_url(_env("VAULT_DATABASE_URL"))
    bucket = Bucket.from_url(_env("VAULT_STORAGE_URL"))
    keyring = keyring_path(_env("VAULT_KEY_PROVIDER"))
    if destination.exists() and any(destination.iterdir()):
        raise BackupError(f"{destination} is not empty")
    destination.mkdir(mode=0o700, parents=True, exist_ok=True)
    destination.chmod(0o700)
    # the dump first: a consistent snapshot; objects written after it are orphans that the sweep removes
    dump = destination / "database.dump"
    database.run("pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={dump}")
    objects = []
    for key in bucket.object_keys():
        path = _object_path(destination / "objects", key)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with path.open("wb") as handle:
            size, sha256 = bucket.download(key, handle)
        objects.append({"key": key, "size": size, "sha256": sha256})
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "database": {"file": dump.name, "sha256": _sha256(dump)},
        "bucket": bucket.name,
        "objects": objects,
        "keyring": None,
    }
    if keyring is not None:
        copy = destination / "keyring.json"
        shutil.copyfile(keyring, copy)
        copy.chmod(0o600)
        manifest["keyring"] = {"file": copy.name, "sha256": _sha256(copy)}
    (destination / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _checked_manifest(source: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((source / "manifest.json").read_text())
    if manifest.get("format") != MANIFEST_FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    files = [(source / manifest["database"]["file"], manifest["database"]["sha256"])]
    files += [(_object_path(source / "objects", o["key"]), o["sha256"]) for o in manifest["objects"]]
    if manifest["keyring"]:
        files.append((source / manifest["keyring"]["file"], manifest["keyring"]["sha256"]))
    for path, expected in files:
        if not path.is_file() or _sha256(path) != expected:
            raise BackupError(f"{path} is missing or does not match the manifest: the backup is damaged")
    return manifest


def _restore_keyring(source: Path, manifest: dict[str, Any], target: Path | None) -> None:
    if not manifest["keyring"]:
        return
    if target is None:
        raise BackupError("the backup holds a local keyring but VAULT_KEY_PROVIDER is not local:")
    backed_up = source / manifest["keyring"]["file"]
    if target.exists():
        if _sha256(target) != manifest["keyring"]["sha256"]:
            raise BackupError(f"{target} exists and differs from the backed-up keyring: refusing to overwrite")
        return
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.copyfile(backed_up, target)
    target.chmod(0o600)


def restore(source: Path) -> dict[str, Any]:
    """Check the backup, then restore the keyring, the objects and last the database into empty targets."""
    manifest = _checked_manifest(source)
    database = Database.from_url(_env("VAULT_DATABASE_URL"))
    bucket = Bucket.from_url(_env("VAULT_STORAGE_URL"))
    keyring = keyring_path(_env("VAULT_KEY_PROVIDER"))
    user_tables = "select count(*) from pg_tables where schemaname not in ('pg_catalog', 'information_schema')"
    tables = database.run("psql", "-X", "-tAc", user_tables)
    if int(tables.strip() or 0):
        raise BackupError("the target database is not empty: restore into a fresh database")
    if bucket.object_keys():
        raise BackupError(f"the target bucket {bucket.name} is not empty: restore into a fresh bucket")
    _restore_keyring(source, manifest, keyring)
    if not bucket.client.bucket_exists(bucket.name):
        bucket.client.make_bucket(bucket.name)
    for entry in manifest["objects"]:
        path = _object_path(source / "objects", entry["key"])
        with path.open("rb") as handle:
            bucket.client.put_object(bucket.name, entry["key"], handle, entry["size"], part_size=16 * _PIECE)
        if bucket.client.stat_object(bucket.name, entry["key"]).size != entry["size"]:
            raise BackupError(f"object {entry['key']} did not arrive whole")
    database.run(
        "pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
        f"--dbname={database.name}", str(source / manifest["database"]["file"]),
    )  # fmt: skip
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("command", choices=("backup", "restore"))
    parser.add_argument("directory", type=Path)
    args = parser.parse_args(argv)
    try:
        manifest = backup(args.directory) if args.command == "backup" else restore(args.directory)
    except BackupError as exc:
        print(f"{args.command}: {exc}", file=sys.stderr)
        return 1
    size = sum(entry["size"] for entry in manifest["objects"])
    keyring = "the keyring" if manifest["keyring"] else "no keyring (HSM)"
    verb = "backed up" if args.command == "backup" else "restored"
    print(f"{verb}: the database, {len(manifest['objects'])} objects ({size} bytes), {keyring}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
