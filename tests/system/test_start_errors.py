"""`vault serve` with a configuration that cannot run exits at once with status 2 and one line on stderr naming
the setting (and the file): an unreadable or malformed keyring, a keyring of another deployment, settings that
disagree with the deployment's, a malformed setting. Never a traceback, never a new keyring in place of one it
cannot read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.services._proc import free_port
from tests.support.cluster import ROOT, Instance

pytestmark = pytest.mark.system


def _env(tmp_path: Path, keyring: Path, **extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    return {
        **clean,
        "VAULT_DATA_DIR": str(tmp_path / "var"),
        "VAULT_KEY_PROVIDER": f"local:{keyring}",
        "VAULT_PUBLIC_URL": "http://127.0.0.1:8000",
        **extra,
    }


def _serve(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "vault.cli", "serve", "--host", "127.0.0.1", "--port", str(free_port())]
    return subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


def _refused(result: subprocess.CompletedProcess[str]) -> str:
    """Assert the start was refused with exit status 2 and exactly one line on stderr; return that line."""
    assert result.returncode == 2, (result.returncode, result.stderr[-3000:])
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("configuration error: ")
    return lines[0]


@pytest.mark.parametrize("kind", ["malformed", "a directory", "truncated JSON", "readable by others"])
def test_a_keyring_that_cannot_be_read_is_one_line(tmp_path: Path, kind: str) -> None:
    keyring = tmp_path / "keyring.json"
    if kind == "a directory":  # unreadable whoever runs the test (root reads a mode-000 file)
        keyring.mkdir()
    else:
        content = {
            "malformed": b"\x00not a keyring",
            "truncated JSON": b'{"format": 1, "current": 1, "keys": {"1": "AAAA',
            "readable by others": json.dumps({"format": 1, "current": 1, "keys": {"1": "A" * 44}}).encode(),
        }[kind]
        keyring.write_bytes(content)
        keyring.chmod(0o644 if kind == "readable by others" else 0o600)
    before = keyring.stat()
    line = _refused(_serve(_env(tmp_path, keyring)))
    assert line.startswith(f"configuration error: VAULT_KEY_PROVIDER (keyring file {keyring}): ")
    print(f"\n{kind}: {line}")
    assert keyring.stat().st_mtime_ns == before.st_mtime_ns  # nothing written over it


def test_a_missing_keyring_without_create_is_one_line(tmp_path: Path) -> None:
    keyring = tmp_path / "absent.json"
    line = _refused(_serve(_env(tmp_path, keyring)))
    assert str(keyring) in line
    assert "VAULT_KEY_PROVIDER" in line
    assert not keyring.exists()


def test_a_malformed_setting_is_one_line(tmp_path: Path) -> None:
    line = _refused(_serve(_env(tmp_path, tmp_path / "k.json", VAULT_KEY_PROVIDER="vault:nothing")))
    assert line == "configuration error: VAULT_KEY_PROVIDER: key provider URL must start with local: or pkcs11:"


def test_settings_another_instance_does_not_share_are_one_line(tmp_path: Path) -> None:
    """The first start records the deployment (on its database); a start with another keyring or another audit
    origin on the same database is refused with a line naming the setting."""
    database = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    first_env = _env(tmp_path, tmp_path / "keyring.json", VAULT_DATABASE_URL=database)
    first_env["VAULT_KEY_PROVIDER"] += "?create=true"
    first = Instance("first", free_port(), first_env, tmp_path / "first")
    first.start()
    first.kill()

    other_keyring = _env(tmp_path, tmp_path / "other.json", VAULT_DATABASE_URL=database)
    other_keyring["VAULT_KEY_PROVIDER"] += "?create=true"
    line = _refused(_serve(other_keyring))
    assert "VAULT_KEY_PROVIDER" in line
    assert "same keyring" in line
    print(f"\nanother keyring: {line}")

    other_origin = _refused(_serve({**first_env, "VAULT_AUDIT_ORIGIN": "elsewhere.example/vault"}))
    assert "VAULT_AUDIT_ORIGIN" in other_origin
    print(f"another audit origin: {other_origin}")
