"""The auditor in Chromium: signs in, filters the log, downloads a proof and the export (both parse and verify)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import Browser, Download, Page, expect

from tests.browser.conftest import Auditor, new_context
from tests.browser.test_portal_requests import signed_in
from tests.support.vault_app import LiveServer
from vault.audit import merkle


def downloaded(page: Page, link: str, tmp_path: Path) -> Path:
    with page.expect_download() as info:
        page.get_by_role("link", name=link).first.click()
    download: Download = info.value
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    return target


def test_an_auditor_filters_the_log_and_takes_proofs_home(
    browser: Browser, portal: LiveServer, audit: Auditor, tmp_path: Path
) -> None:
    signed_in(browser, portal, "alice", audit).context.close()  # something to find in the log
    page = signed_in(browser, portal, "audrey", audit)
    audit(page, "auditor start page")
    page.get_by_role("link", name="The audit log").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("The audit log")
    expect(page.locator(".log-entry").first).to_be_visible()
    audit(page, "auditor log")

    page.get_by_label("Action").select_option("auth.login")
    today = datetime.now(UTC).date().isoformat()
    page.get_by_label("From (day)").fill(today)
    page.get_by_label("To (day, included)").fill(today)
    page.get_by_role("button", name="Show entries").click()
    rows = page.locator(".log-entry")
    expect(rows.first).to_be_visible()
    for action in rows.locator("td:nth-child(3)").all_inner_texts():
        assert action == "auth.login"
    expect(page.get_by_label("Action")).to_have_value("auth.login")  # the filter is kept on the page
    audit(page, "auditor log filtered")

    proof_file = downloaded(page, "Inclusion proof", tmp_path)
    proof = json.loads(proof_file.read_text())
    entry = base64.b64decode(proof["entry"])
    assert json.loads(entry)["action"] == "auth.login"
    hashes = [base64.b64decode(h) for h in proof["hashes"]]
    root = base64.b64decode(proof["checkpoint"]["root_hash"])
    assert merkle.verify_inclusion(merkle.leaf_hash(entry), proof["seq"], proof["tree_size"], hashes, root)

    page.get_by_role("link", name="Checkpoints, proofs and export").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Checkpoints, proofs and export")
    audit(page, "auditor checkpoints")
    page.get_by_role("button", name="Keep a checkpoint now").click()
    expect(page.get_by_role("status")).to_contain_text("A checkpoint of")
    audit(page, "auditor checkpoint kept")

    with page.expect_download() as info:
        page.get_by_role("button", name="Download the consistency proof").click()
    consistency = json.loads(Path(info.value.path()).read_text())
    assert consistency["kind"] == "consistency"

    bundle = downloaded(page, "Download the export (JSON)", tmp_path)
    assert json.loads(bundle.read_text())["entries"]
    key = downloaded(page, "Download the log's public key (JSON)", tmp_path)
    verified = subprocess.run(
        [sys.executable, "-m", "vault.cli", "audit", "verify", str(bundle), "--key", str(key)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr

    page.get_by_role("link", name="Check the signatures on a PDF").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check the signatures on a PDF")
    page.goto(portal.url + "/auditor/checkpoints?lang=fr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Points de contrôle, preuves et export")
    audit(page, "auditor checkpoints in French")
    page.goto(portal.url + "/auditor")
    expect(page.get_by_role("heading", level=1)).to_have_text("Le journal d\u2019audit")
    audit(page, "auditor log in French")
    page.context.close()


def test_the_auditor_pages_are_not_for_citizens(browser: Browser, portal: LiveServer, audit: Auditor) -> None:
    page = signed_in(browser, portal, "bob", audit)
    answer = page.goto(portal.url + "/auditor")
    assert answer is not None
    assert answer.status == 403
    page.context.close()
    visitor = new_context(browser).new_page()
    visitor.goto(portal.url + "/auditor/checkpoints")
    assert "/login" in visitor.url or "/dev-idp" in visitor.url  # off to sign in
    visitor.context.close()


def test_the_auditor_and_officer_pages_raise_no_csp_violation(browser: Browser, portal: LiveServer) -> None:
    """Under the real policy (no bypass), the auditor's and the officer's pages load without a CSP report."""
    for user, paths in (
        ("audrey", ("/auditor", "/auditor?action=auth.login", "/auditor/checkpoints")),
        ("olga", ("/agency/documents", "/agency/issue?q=a", "/requests/new?q=a", "/requests")),
    ):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(portal.url + "/login")
        page.get_by_role("button", name=user).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")
        reports: list[str] = []
        page.on("console", lambda m, seen=reports: seen.append(m.text) if "Content Security Policy" in m.text else None)
        for path in paths:
            answer = page.goto(portal.url + path)
            assert answer is not None
            assert answer.status == 200, path
            page.wait_for_load_state("load")
            assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith("system-ui")
        assert reports == [], user
        context.close()
