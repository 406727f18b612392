"""Property-based fuzzing of every documented operation (schemathesis): no input ever yields a 5xx."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.support.vault_app import LiveServer, bearer, make_settings, running_server
from vault.app import services_of

# CI runs a fixed, reproducible sample; VAULT_FUZZ_RANDOM=1 VAULT_FUZZ_EXAMPLES=500 explores further.
EXAMPLES = int(os.environ.get("VAULT_FUZZ_EXAMPLES", "30"))
RANDOM = os.environ.get("VAULT_FUZZ_RANDOM") == "1"


@pytest.fixture(scope="module")
def live_vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with running_server(make_settings(Path(tmp_path_factory.mktemp("fuzz")))) as server:
        yield server


@pytest.fixture(scope="module")
def api_schema(live_vault: LiveServer) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_url(f"{live_vault.url}/schema/openapi.json")
    return schema.exclude(path_regex="^/dev-idp")


@schemathesis.serializer("application/pdf", "application/octet-stream")
def _raw_bytes(ctx: object, value: object) -> bytes:
    """Documents travel as raw bodies: whatever the generator made, as bytes (and sometimes a PDF header)."""
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", "replace")


PRINCIPALS = ("alice", "olga", "audrey", "admin")  # citizen, agency officer, auditor, admin


@pytest.mark.parametrize("user", PRINCIPALS)
def test_no_input_yields_a_server_error(api_schema: schemathesis.BaseSchema, live_vault: LiveServer, user: str) -> None:
    citizen_headers = bearer(services_of(live_vault.app).dev_idp.issue_access_token(user))  # type: ignore[union-attr]
    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES if user == "alice" else max(5, EXAMPLES // 3),
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=not RANDOM,
        )
        def exercise(case: schemathesis.Case) -> None:
            case.headers = {**(case.headers or {}), **citizen_headers}
            response = case.call(timeout=30)
            content_type = response.headers.get("content-type", [""])
            content_type = content_type[0] if isinstance(content_type, list) else content_type
            if response.status_code >= 500 and response.status_code != 503:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:200]}")
            elif response.status_code >= 400:
                assert content_type.startswith("application/problem+json"), (
                    f"{case.method} {case.formatted_path} -> {response.status_code} without problem details"
                )

        exercise()
    assert operations >= 25
    assert failures == []
