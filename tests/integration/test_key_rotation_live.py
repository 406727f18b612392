"""`vault keys rotate` while instances serve: every download and upload keeps working (no false integrity
failures), because an instance that meets an unknown key version reads the keyring again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.api import DOCS, upload
from tests.support.vault_app import bearer, make_settings, vault_client
from vault.app import services_of

ROOT = Path(__file__).resolve().parents[2]


def test_rotation_while_two_instances_serve(tmp_path: Path, database_url: str) -> None:
    keyring = tmp_path / "keyring.json"
    common = {"key_provider": f"local:{keyring}?create=true", "public_url": "https://vault.example"}
    # the development provider's key lives in the data directory: the two instances share it (and the keyring)
    one = make_settings(tmp_path, database_url, data_dir=tmp_path / "shared", **common)
    two = make_settings(tmp_path, database_url, data_dir=tmp_path / "shared", **common)
    with vault_client(one) as first, vault_client(two) as second:
        alice = bearer(services_of(first.app).dev_idp.issue_access_token("alice"))  # type: ignore[union-attr]
        before = upload(first, alice, os.urandom(100_000))
        env = {
            **os.environ,
            "VAULT_DATABASE_URL": database_url,
            "VAULT_KEY_PROVIDER": f"local:{keyring}",
            "VAULT_DATA_DIR": str(tmp_path / "shared"),
            "VAULT_PUBLIC_URL": "https://vault.example",
        }
        rotated = subprocess.run(
            [sys.executable, "-m", "vault.cli", "keys", "rotate"],
            env=env,
            cwd=tmp_path,  # from another directory than the repository
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert rotated.returncode == 0, rotated.stderr
        assert "KEK version 2 is current" in rotated.stdout
        for client in (first, second):  # both instances still hold version 1 only in memory
            assert client.get(f"{DOCS}/{before['id']}/content", headers=alice).status_code == 200
            after = upload(client, alice, b"after the rotation")
            assert client.get(f"{DOCS}/{after['id']}/content", headers=alice).content == b"after the rotation"
        log = second.get("/api/v1/me/access-log", headers=alice).json()["items"]
        assert not [e for e in log if e["action"] == "document.integrity_failure"]
