"""The auditor's offline tools: `vault verify` and `vault audit verify`, run through the CLI on real input (a
signed PDF; an exported bundle with its pinned key), load neither SQLAlchemy nor Litestar (an auditor's laptop
needs neither), and `vault audit verify` refuses to trust a bundle's own key unless told to."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from litestar import Litestar
from litestar.testing import TestClient

from tests.support.api import DOCS, DevTokens, upload
from tests.support.vault_app import settle_audit
from vault.settings import Settings

MINIMAL = Path(__file__).resolve().parents[1] / "data" / "pdf" / "minimal.pdf"
PROBE = """
import json, sys
from vault.cli import main
codes = [main(sys.argv[1:5]), main(sys.argv[5:])]
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"sqlalchemy", "litestar", "advanced_alchemy", "asyncpg",
                                                          "aiosqlite", "alembic"})
print(json.dumps({"codes": codes, "heavy": heavy}))
"""


def test_both_offline_tools_load_no_database_or_web_framework(
    client: TestClient[Litestar], as_user: DevTokens, settings: Settings, tmp_path: Path
) -> None:
    doc = upload(client, as_user("alice"), MINIMAL.read_bytes(), media_type="application/pdf")
    assert client.post(f"{DOCS}/{doc['id']}/signatures", json={"level": "B-B"}, headers=as_user("alice")).is_success
    signed = tmp_path / "signed.pdf"
    signed.write_bytes(client.get(f"{DOCS}/{doc['id']}/content", headers=as_user("alice")).content)
    settle_audit(client)
    auditor = as_user("audrey")
    assert client.post("/api/v1/audit/checkpoints", headers=auditor).status_code == 201
    bundle = tmp_path / "bundle.json"
    bundle.write_text(client.get("/api/v1/audit/export", headers=auditor).text)
    key_file = tmp_path / "key.json"
    key_file.write_text(client.get("/api/v1/audit/key").text)  # --key accepts the endpoint's JSON as it is
    root = settings.resolved_data_dir / "dev-pki" / "root-ca.cert.pem"
    result = subprocess.run(
        [
            *(sys.executable, "-c", PROBE),
            *("verify", str(signed), "--trust", str(root)),
            *("audit", "verify", str(bundle), "--key", str(key_file)),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        cwd=tmp_path,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["heavy"] == []
    # the PDF verifies as intact but "cannot tell yet" (no revocation data): 1; the bundle verifies: 0
    assert report["codes"] == [1, 0], result.stdout + result.stderr


def test_audit_verify_refuses_an_unpinned_bundle(
    client: TestClient[Litestar], as_user: DevTokens, tmp_path: Path
) -> None:
    auditor = as_user("audrey")
    assert client.post("/api/v1/audit/checkpoints", headers=auditor).status_code == 201
    bundle = tmp_path / "bundle.json"
    bundle.write_text(client.get("/api/v1/audit/export", headers=auditor).text)

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "vault.cli", "audit", "verify", str(bundle), *extra],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    refused = run()
    assert refused.returncode == 2
    assert "GET /api/v1/audit/key" in refused.stderr
    assert run("--unpinned").returncode == 0
