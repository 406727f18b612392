"""VAULT_TRUSTED_LIST through the service: the API's report and the portal's verify page tell the qualified status;
a list that cannot be used (unreadable, or not signed by VAULT_TRUSTED_LIST_SIGNER) stops the start, naming it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.test_deployment_agreement import _refusal
from tests.integration.test_signing_trusted_list import _services, _sign
from tests.services.pki import PkiServices
from tests.support.portal import csrf_token
from tests.support.trusted_list import ListOperator, trusted_list_xml
from tests.support.vault_app import make_settings, vault_client

pytestmark = pytest.mark.pki

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.fixture(scope="module")
def operator() -> ListOperator:
    return ListOperator.generate()


def _list_files(tmp_path: Path, pki: PkiServices, operator: ListOperator) -> tuple[Path, Path]:
    tl, signer = tmp_path / "tl.xml", tmp_path / "tl-signer.pem"
    tl.write_bytes(operator.sign(trusted_list_xml(_services(pki))))
    signer.write_bytes(operator.cert_pem)
    return tl, signer


def test_reports_and_the_verify_page_tell_the_qualified_status(
    tmp_path: Path, pki: PkiServices, operator: ListOperator
) -> None:
    tl, signer = _list_files(tmp_path, pki, operator)
    settings = make_settings(
        tmp_path, trust_roots=str(pki.root_cert_path), trusted_list=str(tl), trusted_list_signer=str(signer)
    )
    pdf = asyncio.run(_sign(pki))  # the test client runs its own loop: sign before it starts

    with vault_client(settings) as client:
        response = client.post("/api/v1/verify", content=pdf, headers={"Content-Type": "application/pdf"})
        etsi = client.post("/api/v1/verify?etsi=true", content=pdf, headers={"Content-Type": "application/pdf"})
        token = csrf_token(client.get("/verify", headers=HTML))
        page = client.post(
            "/verify",
            data={"csrf_token": token, "action": "check"},
            files={"file": ("signed.pdf", pdf, "application/pdf")},
            headers=HTML,
        )

    assert response.status_code == 200, response.text
    sig = response.json()["signatures"][0]
    assert sig["qualification"]["status"] == "qualified"
    assert sig["qualification"]["service"] == "Test Qualified CA"
    assert sig["qualification"]["list_signature_checked"] is True
    assert sig["timestamp"]["qualification"]["status"] == "qualified"
    assert etsi.status_code == 200, etsi.text
    assert etsi.json()["signatures"][0]["qualification"]["status"] == "qualified"
    assert page.status_code == 200, page.text[:2000]
    assert "Qualified (EU trusted list)" in page.text
    assert "Qualified certificate for electronic signatures, from Test Qualified CA" in page.text
    assert "Qualified timestamp, from Test Qualified Timestamps" in page.text


@pytest.mark.parametrize("content", [b"", b"<not a list", b"<html>a web page</html>"], ids=["empty", "broken", "html"])
def test_an_unusable_trusted_list_stops_the_start(tmp_path: Path, content: bytes) -> None:
    tl = tmp_path / "tl.xml"
    tl.write_bytes(content)
    reason = _refusal(make_settings(tmp_path, trusted_list=str(tl)))
    assert "VAULT_TRUSTED_LIST" in reason
    assert "trusted list" in reason


def test_a_missing_trusted_list_stops_the_start(tmp_path: Path) -> None:
    reason = _refusal(make_settings(tmp_path, trusted_list=str(tmp_path / "absent.xml")))
    assert "VAULT_TRUSTED_LIST" in reason
    assert "cannot read" in reason


def test_a_list_not_signed_by_the_configured_signer_stops_the_start(
    tmp_path: Path, pki: PkiServices, operator: ListOperator
) -> None:
    tl, _ = _list_files(tmp_path, pki, operator)
    other = tmp_path / "other-signer.pem"
    other.write_bytes(ListOperator.generate("Another Operator").cert_pem)
    reason = _refusal(make_settings(tmp_path, trusted_list=str(tl), trusted_list_signer=str(other)))
    assert "signature does not verify" in reason


def _vault_verify(*args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "vault.cli", "verify", *args]
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)


def test_vault_verify_tells_the_qualified_status_offline(
    tmp_path: Path, pki: PkiServices, operator: ListOperator
) -> None:
    tl, signer = _list_files(tmp_path, pki, operator)
    signed = tmp_path / "signed.pdf"
    signed.write_bytes(asyncio.run(_sign(pki)))
    root = str(pki.root_cert_path)

    done = _vault_verify(str(signed), "--trust", root, "--trusted-list", str(tl), "--trusted-list-signer", str(signer))
    garbage = tmp_path / "garbage.xml"
    garbage.write_bytes(b"<nope")
    refused = _vault_verify(str(signed), "--trust", root, "--trusted-list", str(garbage))

    assert "qualified (EU trusted list): qualified (Test Qualified CA, CA/QC, qc-esig, qscd)" in done.stdout
    assert "timestamp qualified (EU trusted list): qualified (Test Qualified Timestamps, TSA/QTST)" in done.stdout
    assert refused.returncode == 2
    assert "unusable trusted list" in refused.stderr
