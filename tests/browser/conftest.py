"""Browser fixtures: Debian's Chromium driven by Playwright, axe-core on every page, screenshots of every page.

`audit(page, name)` is what a journey calls on each page it reaches: axe-core (from the committed npm lockfile in
this folder) must find no serious or critical violation, the page must fit a 375 px wide screen without
horizontal scrolling, and a screenshot is written at desktop width and at 375 px. The screenshot folder is
printed at the end of the test run (VAULT_SCREENSHOT_DIR, default `var/screenshots`; never committed).
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, Response, sync_playwright

from tests.services.oidc_provider import OidcProvider
from tests.support.vault_app import LiveServer, make_settings, running_server
from vault.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = Path("/usr/bin/chromium")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def screenshot_dir() -> Path:
    return Path(os.environ.get("VAULT_SCREENSHOT_DIR") or ROOT / "var" / "screenshots").resolve()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """The screenshot folder, emptied once per test run."""
    shots = screenshot_dir()
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    return shots


@pytest.fixture(scope="module")
def browser(screenshots: Path) -> Iterator[Browser]:
    """Debian's Chromium (apt package `chromium`); Playwright never downloads a browser here.

    Module-scoped on purpose: Playwright's sync API keeps an event loop running in the test thread while it is
    open, and the tests after the browser modules call `asyncio.run` (migrations) in that thread.
    """
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed (apt-get install chromium; scripts/test does it)")
    if not AXE.exists():
        pytest.fail(f"axe-core missing: run `npm ci` in {AXE.parents[2]} (scripts/test does it)")
    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()


def new_context(browser: Browser, **kwargs: Any) -> BrowserContext:
    """A fresh browser profile. axe-core is injected, so the portal's CSP is bypassed in it (TESTING.md);
    `test_pages_raise_no_csp_violation` checks the pages under the real policy."""
    kwargs.setdefault("bypass_csp", True)
    kwargs.setdefault("viewport", DESKTOP)
    kwargs.setdefault("locale", "en-GB")
    context = browser.new_context(**kwargs)
    context.set_default_timeout(30_000)
    return context


def activate(control: Locator) -> None:
    """Press a button (or follow a link) from the keyboard: focus, then Enter.

    For controls on a page with a PDF preview. Chromium's PDF viewer is an out-of-process frame, and right after
    Playwright scrolls a control into view the browser can still route a mouse click by the frame's old place on
    screen: the click never reaches the page (under load, no mousedown arrived at the document at all). Keys go to
    the focused element, with no hit-testing.
    """
    control.press("Enter")


@dataclass
class Auditor:
    """Runs the checks on each page and remembers every HTML document the browser received."""

    documents: list[Response] = field(default_factory=list)
    names: set[str] = field(default_factory=set)

    def watch(self, page: Page) -> Page:
        page.on("response", lambda r: self.documents.append(r) if r.request.resource_type == "document" else None)
        return page

    def __call__(self, page: Page, name: str) -> None:
        page.wait_for_load_state("load")
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        assert slug not in self.names, f"two pages audited as {name!r}"
        self.names.add(slug)
        violations = _axe(page)
        serious = [v for v in violations if v["impact"] in ("serious", "critical")]
        assert not serious, f"{name}: axe-core found serious or critical violations: {serious}"
        page.screenshot(path=str(screenshot_dir() / f"{slug}-desktop.png"), full_page=True)
        size = page.viewport_size or DESKTOP
        page.set_viewport_size(PHONE)
        try:
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{name}: {overflow}px of horizontal scrolling at 375 px"
            page.screenshot(path=str(screenshot_dir() / f"{slug}-375px.png"), full_page=True)
        finally:
            page.set_viewport_size(size)

    def portal_documents(self, base_url: str) -> list[Response]:
        """The HTML documents the portal itself served (not the identity provider's pages)."""
        return [
            r
            for r in self.documents
            if r.url.startswith(base_url)
            and "/dev-idp/" not in r.url
            and r.headers.get("content-type", "").startswith("text/html")
        ]


def _axe(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    result: list[dict[str, Any]] = page.evaluate(
        """async (tags) => {
            const results = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
            return results.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                                  nodes: v.nodes.map(n => n.target.join(' '))}));
        }""",
        AXE_TAGS,
    )
    return result


@pytest.fixture
def audit() -> Auditor:
    return Auditor()


@contextlib.contextmanager
def served(settings: Settings) -> Iterator[LiveServer]:
    """`running_server` entered in a thread of its own: Playwright's sync API keeps an event loop running in the
    test thread, and the migrations call `asyncio.run`."""
    started: queue.Queue[LiveServer | BaseException] = queue.Queue()
    stop = threading.Event()

    def run() -> None:
        try:
            with running_server(settings) as live:
                started.put(live)
                stop.wait()
        except BaseException as exc:
            started.put(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    live = started.get(timeout=120)
    if isinstance(live, BaseException):
        raise live
    try:
        yield live
    finally:
        stop.set()
        thread.join(timeout=60)


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The service on its embedded defaults (built-in development provider), served by uvicorn."""
    settings = make_settings(tmp_path_factory.mktemp("portal"))
    with served(settings) as live:
        yield live


@pytest.fixture(scope="module")
def oidc_portal(tmp_path_factory: pytest.TempPathFactory, oidc_provider: OidcProvider) -> Iterator[LiveServer]:
    """The service signing browsers in at the npm oidc-provider (a confidential client)."""
    settings = make_settings(
        tmp_path_factory.mktemp("oidc-portal"),
        oidc_issuer=oidc_provider.issuer,
        web_client_secret="citizen-vault-portal-secret",
    )
    with served(settings) as live:
        yield live


def pytest_terminal_summary(terminalreporter: Any) -> None:
    shots = screenshot_dir()
    if shots.is_dir() and any(shots.iterdir()):
        count = len(list(shots.glob("*.png")))
        terminalreporter.write_line(f"portal screenshots ({count}, desktop and 375 px): {shots}")
