"""The service started exactly as the README says (`scripts/serve`), driven over HTTP like a user would."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.services._proc import ServiceProcess, free_port, wait_for_http

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.system


@dataclass
class Served:
    url: str
    env: dict[str, str]
    process: ServiceProcess


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    port = free_port()
    data_dir = tmp_path_factory.mktemp("readme-serve")
    env = {"VAULT_DATA_DIR": str(data_dir / "var"), "PATH": os.environ["PATH"]}
    process = ServiceProcess(
        "readme-serve", ["bash", str(ROOT / "scripts" / "serve"), "--port", str(port)], data_dir, env=env, cwd=data_dir
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/health", timeout=120, proc=process.proc)
    except (TimeoutError, RuntimeError) as exc:
        process.stop()
        pytest.fail(f"scripts/serve did not come up: {exc}\n{process.log_tail()}")
    yield Served(url, {**os.environ, **env, "VAULT_PUBLIC_URL": url}, process)
    process.stop()


def test_serve_prints_how_to_start_and_answers_health(served: Served) -> None:
    assert httpx.get(f"{served.url}/health").json() == {"status": "ok"}
    ready = httpx.get(f"{served.url}/ready")
    assert ready.status_code == 200, ready.text
    banner = served.process.log_tail(200)
    assert served.url in banner
    assert "vault token alice" in banner


def _readme_blocks() -> list[str]:
    """The README's shell blocks, in order."""
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```sh\n(.*?)```", text, flags=re.S)


def test_the_readme_has_the_two_commands_and_ci_runs_the_second() -> None:
    blocks = _readme_blocks()
    assert blocks[0].strip().startswith("./scripts/serve")
    assert "./scripts/test" in blocks[2]
    assert "bash scripts/test" in (ROOT / ".ci" / "run").read_text()


def test_every_command_of_the_readme_api_block_runs_as_written(served: Served, tmp_path: Path) -> None:
    """The README's API block, executed literally by bash against the served instance (its port swapped in)."""
    block = _readme_blocks()[1].replace("http://127.0.0.1:8000", served.url)
    script = tmp_path / "readme.sh"
    script.write_text("set -euo pipefail\n" + block)
    result = subprocess.run(
        ["bash", str(script)],
        env={**served.env, "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        cwd=ROOT,  # the README says: from the repository's root
    )
    assert result.returncode == 0, result.stdout + result.stderr
    outputs, text, decoder = [], result.stdout.strip(), json.JSONDecoder()
    while text:  # curl prints the bodies back to back
        value, end = decoder.raw_decode(text)
        outputs.append(value)
        text = text[end:].strip()
    me, created, listing = outputs[0], outputs[1], outputs[2]
    assert me["roles"] == ["citizen"]
    assert (created["title"], created["kind"], created["media_type"]) == ("Diploma", "diploma", "application/pdf")
    assert [d["id"] for d in listing["items"]] == [created["id"]]
    (ROOT / "diploma.pdf").unlink(missing_ok=True)  # the README's example file, written in the repository root


def test_vault_token_works_from_any_directory(served: Served, tmp_path: Path) -> None:
    token = subprocess.run(
        [str(ROOT / "scripts" / "vault"), "token", "alice", "--url", served.url],
        env=served.env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=tmp_path,
    ).stdout.strip()
    assert not (tmp_path / "var").exists()  # nothing created where it ran
    headers = {"Authorization": f"Bearer {token}"}
    data = os.urandom(1_000_000)
    with httpx.Client(base_url=served.url, headers=headers, timeout=60) as http:
        created = http.post(
            "/api/v1/documents",
            content=data,
            headers={"Content-Type": "application/octet-stream", "X-Document-Title": "README journey"},
        )
        assert created.status_code == 201, created.text
        body = http.get(f"/api/v1/documents/{created.json()['id']}/content").content
    assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest()


def test_production_mode_refuses_the_embedded_defaults(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "vault"), "serve", "--port", str(free_port())],
        env={**os.environ, "VAULT_ENV": "production", "VAULT_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode != 0
    assert "production mode refuses development defaults" in result.stdout + result.stderr
