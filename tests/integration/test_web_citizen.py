"""The citizen's portal pages over HTTP: the vault's search, the account page, a document's page (verification,
preview, sharing with grants) and signing."""

from __future__ import annotations

import re
from pathlib import Path

from litestar import Litestar
from litestar.testing import TestClient

from tests.integration.conftest import DevTokens
from tests.integration.test_documents_api import upload
from tests.support.portal import csrf_token, heading, sign_in

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
MINIMAL = (Path(__file__).resolve().parents[1] / "data" / "pdf" / "minimal.pdf").read_bytes()
_ROW_TITLE = re.compile(r'<td class="break-words"><a href="/documents/[0-9a-f-]+">([^<]+)</a>')


def listed(page_text: str) -> list[str]:
    """The titles a page of the vault lists, in order."""
    return _ROW_TITLE.findall(page_text)


def test_the_vault_is_searched_by_title_and_filtered_by_kind_newest_first_and_paged(
    client: TestClient[Litestar], as_user: DevTokens
) -> None:
    alice = as_user("alice")
    for number in range(23):
        kind = "diploma" if number % 2 else "payslip"
        upload(client, alice, b"x", title=f"Paper {number:02d}", kind=kind)
    upload(client, alice, b"x", title="Tax 100% refund_notice", kind="tax-assessment")
    upload(client, as_user("bob"), b"x", title="Paper of Bob", kind="diploma")
    sign_in(client, "alice")

    first = client.get("/documents", headers=HTML)
    assert first.status_code == 200
    titles = listed(first.text)
    assert titles[:2] == ["Tax 100% refund_notice", "Paper 22"]  # newest first
    assert len(titles) == 20
    older = re.search(r'href="/documents\?(cursor=[^"]+)"', first.text)
    assert older is not None
    second = client.get(f"/documents?{older[1]}".replace("&amp;", "&"), headers=HTML)
    assert listed(second.text) == [f"Paper {n:02d}" for n in range(3, -1, -1)]

    diplomas = client.get("/documents", params={"kind": "diploma"}, headers=HTML)
    assert listed(diplomas.text) == [f"Paper {n:02d}" for n in range(21, 0, -2)]
    assert '<option value="diploma" selected>' in diplomas.text  # the form shows what was asked

    searched = client.get("/documents", params={"q": "paper 1", "kind": "diploma"}, headers=HTML)
    assert listed(searched.text) == ["Paper 19", "Paper 17", "Paper 15", "Paper 13", "Paper 11"]
    assert 'value="paper 1"' in searched.text

    # LIKE's wildcards are the citizen's characters, not patterns
    assert listed(client.get("/documents", params={"q": "100%"}, headers=HTML).text) == ["Tax 100% refund_notice"]
    assert listed(client.get("/documents", params={"q": "_"}, headers=HTML).text) == ["Tax 100% refund_notice"]
    nothing = client.get("/documents", params={"q": "bob"}, headers=HTML)
    assert listed(nothing.text) == []  # never anybody else's
    assert "No document matches your search." in nothing.text
    unknown_kind = client.get("/documents", params={"kind": "spaceship"}, headers=HTML)
    assert len(listed(unknown_kind.text)) == 20  # an unknown kind is no filter

    # paging keeps the search
    page_one = client.get("/documents", params={"q": "paper"}, headers=HTML)
    older = re.search(r'href="/documents\?([^"]+)"', page_one.text)
    assert older is not None
    assert older[1].startswith("q=paper&amp;cursor=")
    rest = client.get("/documents?" + older[1].replace("&amp;", "&"), headers=HTML)
    assert listed(rest.text) == ["Paper 02", "Paper 01", "Paper 00"]
    assert heading(rest) == "Your documents"
    assert csrf_token(rest)
