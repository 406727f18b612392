"""The citizen's portal pages over HTTP: the vault's search, the account page, a document's page (verification,
preview, sharing with grants) and signing."""

from __future__ import annotations

import io
import os
import re
import tracemalloc
import zipfile
from pathlib import Path

import pypdf
from litestar import Litestar
from litestar.testing import TestClient

import auth
from tests.integration.conftest import DevTokens
from tests.integration.test_documents_api import upload
from tests.support.portal import csrf_token, heading, sign_in
from tests.support.vault_app import run_in_app
from vault.app import services_of
from vault.core.principal import Caller
from vault.documents.archive import stream_archive

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
MINIMAL = (Path(__file__).resolve().parents[1] / "data" / "pdf" / "minimal.pdf").read_bytes()
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c49444154789c63f8cfc0000003010100"
    "c9fe92ef0000000049454e44ae426082"
)
_ROW_TITLE = re.compile(r'<td class="break-words"><a href="/documents/[0-9a-f-]+">([^<]+)</a>')


def padded_pdf(padding: bytes) -> bytes:
    """A valid PDF carrying `padding` in a comment after its header."""
    return MINIMAL[:9] + b"%" + padding.replace(b"\n", b" ").replace(b"\r", b" ") + b"\n" + MINIMAL[9:]


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


def test_the_account_page_downloads_every_document_as_one_zip(client: TestClient[Litestar], as_user: DevTokens) -> None:
    alice = as_user("alice")
    first = padded_pdf(os.urandom(300_000))
    upload(client, alice, first, title="Diploma", media_type="application/pdf", kind="diploma")
    upload(client, alice, MINIMAL, title="Diploma", media_type="application/pdf", kind="diploma")
    upload(client, alice, b"notes", title="../../etc/passwd", media_type="text/plain")
    upload(client, as_user("bob"), b"bob's", title="Bob's")
    sign_in(client, "alice")
    page = client.get("/account", headers=HTML)
    assert page.status_code == 200
    assert heading(page) == "Your account"
    assert 'href="/account/archive"' in page.text

    archive = client.get("/account/archive", headers=HTML)
    assert archive.status_code == 200
    assert archive.headers["content-type"] == "application/zip"
    assert archive.headers["content-disposition"].startswith('attachment; filename="citizen-vault-')
    assert "content-length" not in archive.headers  # streamed as it is made
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zipped:
        assert zipped.testzip() is None
        names = zipped.namelist()
        assert names == ["_.._etc_passwd.txt", "Diploma.pdf", "Diploma (2).pdf"]  # newest first, no path escapes
        assert zipped.read("Diploma (2).pdf") == first
        assert zipped.read("Diploma.pdf") == MINIMAL

    client.cookies.clear()
    sign_in(client, "bob")
    with zipfile.ZipFile(io.BytesIO(client.get("/account/archive", headers=HTML).content)) as zipped:
        assert zipped.namelist() == ["Bob's.bin"]  # bob's archive holds bob's documents only


def test_the_archive_streams_with_flat_memory(client: TestClient[Litestar], as_user: DevTokens) -> None:
    """The peak memory while streaming four 8 MiB documents is that of streaming one: nothing accumulates."""
    alice = as_user("alice")
    size = 8 * 1024 * 1024
    caller = Caller(
        subject=auth.DEMO_USERS["alice"].subject,
        issuer=services_of(client.app).settings.resolved_issuer,
        roles=frozenset({"citizen"}),
    )

    async def stream() -> tuple[int, int, int]:
        total = biggest = 0
        tracemalloc.start()
        try:
            async for chunk in stream_archive(services_of(client.app).documents, caller):
                total += len(chunk)
                biggest = max(biggest, len(chunk))
            return total, biggest, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    upload(client, alice, os.urandom(size), title="Scan 0")
    one_total, _, one_peak = run_in_app(client, stream)
    for number in range(1, 4):
        upload(client, alice, os.urandom(size), title=f"Scan {number}")
    total, biggest, peak = run_in_app(client, stream)
    assert one_total > size
    assert total > 4 * size  # random bytes do not compress: everything went through
    assert biggest <= 256 * 1024  # sent on in small pieces
    assert peak < one_peak + 2 * 1024 * 1024, f"peak {peak} bytes for 32 MiB, {one_peak} for 8 MiB"
    assert peak < 3 * size


def test_erasing_the_account_needs_the_typed_confirmation_and_ends_the_session(
    client: TestClient[Litestar], as_user: DevTokens
) -> None:
    doc = upload(client, as_user("alice"), b"x", title="Passport")
    sign_in(client, "alice")
    token = csrf_token(client.get("/account", headers=HTML))
    assert client.post("/account/erase", data={"confirm": "erase my account"}, headers=HTML).status_code == 403

    for typed in ("", "erase", "erase-my-account please"):
        refused = client.post("/account/erase", data={"csrf_token": token, "confirm": typed}, headers=HTML)
        assert refused.status_code == 400
        assert "There is a problem" in refused.text
        assert 'aria-describedby="confirm-error"' in refused.text
    assert client.get(f"/documents/{doc['id']}", headers=HTML).status_code == 200  # nothing happened yet

    erased = client.post("/account/erase", data={"csrf_token": token, "confirm": "  Erase my   ACCOUNT "}, headers=HTML)
    assert erased.status_code == 200
    assert heading(erased) == "Your account is erased"
    assert "1 document was erased." in erased.text
    assert "Max-Age=0" in erased.headers["set-cookie"] or 'vault-session=""' in erased.headers["set-cookie"]
    assert client.get(f"/api/v1/documents/{doc['id']}", headers=as_user("alice")).status_code == 404
    after = client.get("/account", headers=HTML, follow_redirects=False)
    assert after.status_code == 303  # signed out: off to sign-in
    assert after.headers["location"].startswith("/login")


def test_the_confirmation_is_typed_in_the_page_language(client: TestClient[Litestar], as_user: DevTokens) -> None:
    upload(client, as_user("alice"), b"x")
    sign_in(client, "alice")
    french = {**HTML, "Accept-Language": "fr"}
    page = client.get("/account", headers=french)
    assert "effacer mon compte" in page.text
    token = csrf_token(page)
    erased = client.post("/account/erase", data={"csrf_token": token, "confirm": "effacer mon compte"}, headers=french)
    assert erased.status_code == 200


def document_page(client: TestClient[Litestar], document_id: str) -> str:
    page = client.get(f"/documents/{document_id}", headers=HTML)
    assert page.status_code == 200, page.text[:2000]
    return page.text


def test_a_pdf_page_shows_its_preview_frame_and_its_signatures_in_words(
    client: TestClient[Litestar], as_user: DevTokens
) -> None:
    alice = as_user("alice")
    doc = upload(client, alice, MINIMAL, title="Contract", media_type="application/pdf")
    note = upload(client, alice, b"plain words", title="Notes", media_type="text/plain")
    sign_in(client, "alice")

    text = document_page(client, doc["id"])
    # Chromium shows no PDF in a frame with the sandbox attribute: the preview's CSP sandboxes it instead
    assert f'<iframe class="preview" src="/documents/{doc["id"]}/preview"' in text
    assert f'href="/documents/{doc["id"]}/signatures"' in text  # checked on a page of its own: never waited for
    report = client.get(f"/documents/{doc['id']}/signatures", headers=HTML)
    assert heading(report) == "Signatures"
    assert "This PDF has no signatures" in report.text
    preview = client.get(f"/documents/{doc['id']}/preview", headers=HTML)
    assert preview.status_code == 200
    assert preview.content == MINIMAL
    assert preview.headers["content-type"].startswith("application/pdf")
    assert preview.headers["content-disposition"] == "inline"
    policy = preview.headers["content-security-policy"]
    assert "sandbox" in policy
    assert "frame-ancestors 'self'" in policy
    assert "script-src" not in policy  # default-src 'none': no script at all
    assert "default-src 'none'" in policy
    assert preview.headers["x-frame-options"] == "SAMEORIGIN"
    # the portal's pages themselves stay unframeable
    assert (
        "frame-ancestors 'none'"
        in client.get(f"/documents/{doc['id']}", headers=HTML).headers["content-security-policy"]
    )

    picture = upload(client, alice, PNG, title="Photo", media_type="image/png")
    assert f'<iframe class="preview" sandbox src="/documents/{picture["id"]}/preview"' in document_page(
        client, picture["id"]
    )
    text = document_page(client, note["id"])
    assert "<iframe" not in text  # no preview for what a browser might run or cannot show
    assert 'id="signatures"' not in text
    assert client.get(f"/documents/{note['id']}/signatures", headers=HTML, follow_redirects=False).status_code == 303
    assert client.get(f"/documents/{note['id']}/preview", headers=HTML).status_code == 404
    client.cookies.clear()
    sign_in(client, "bob")
    for path in ("preview", "signatures", "sign", "grants/new"):  # not bob's: like a document that does not exist
        assert client.get(f"/documents/{doc['id']}/{path}", headers=HTML).status_code == 404, path


def test_a_citizen_signs_a_pdf_with_a_visible_stamp_from_its_page(
    client: TestClient[Litestar], as_user: DevTokens
) -> None:
    doc = upload(client, as_user("alice"), MINIMAL, title="Contract", media_type="application/pdf")
    sign_in(client, "alice")
    assert f'href="/documents/{doc["id"]}/sign"' in document_page(client, doc["id"])
    form = client.get(f"/documents/{doc['id']}/sign", headers=HTML)
    assert heading(form) == "Sign this document"
    assert 'value="B-LTA"' in form.text  # the embedded defaults have a TSA: the development PKI's
    assert 'value="B-T" checked' in form.text  # the default with a TSA
    token = csrf_token(form)
    fields = {"csrf_token": token, "level": "B-T", "reason": "I agree", "stamp": "yes", "position": "bottom-right"}

    too_far = client.post(f"/documents/{doc['id']}/sign", data={**fields, "page": "7"}, headers=HTML)
    assert too_far.status_code == 422
    assert "fewer pages than the page you chose" in too_far.text
    not_a_number = client.post(f"/documents/{doc['id']}/sign", data={**fields, "page": "first"}, headers=HTML)
    assert not_a_number.status_code == 422
    assert "Enter the page number" in not_a_number.text

    signed = client.post(f"/documents/{doc['id']}/sign", data={**fields, "page": "1"}, follow_redirects=False)
    assert signed.status_code == 303
    assert signed.headers["location"] == f"/documents/{doc['id']}/signatures?signed=1"
    text = client.get(signed.headers["location"], headers=HTML).text
    assert "You signed the document." in text
    assert "Signed by" in text
    assert "Checked now, on version 2 of the document." in text
    assert "This PDF has no signatures" not in text

    pdf = client.get(f"/api/v1/documents/{doc['id']}/content", headers=as_user("alice")).content
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    widgets = [a.get_object() for a in reader.pages[0].get("/Annots", [])]
    stamps = [w for w in widgets if w.get("/FT") == "/Sig" or w.get("/Parent", {}).get("/FT") == "/Sig"]
    assert [[round(float(v)) for v in w["/Rect"]] for w in stamps] == [[339, 36, 559, 106]]
    assert stamps[0].get("/AP") is not None  # it has an appearance: it is visible


def test_sharing_with_an_agency_and_a_person_picked_from_the_directory(
    client: TestClient[Litestar], as_user: DevTokens
) -> None:
    doc = upload(client, as_user("alice"), MINIMAL, title="Payslip", media_type="application/pdf")
    client.get("/api/v1/me", headers=as_user("olga"))  # they have signed in: the directory knows them
    client.get("/api/v1/me", headers=as_user("bob"))
    sign_in(client, "alice")
    text = document_page(client, doc["id"])
    assert "Nobody else may use this document." in text
    assert f'href="/documents/{doc["id"]}/grants/new"' in text

    empty = client.get(f"/documents/{doc['id']}/grants/new", headers=HTML)
    assert heading(empty) == "Share with an agency or a person"
    assert 'name="grantee"' not in empty.text
    found = client.get(f"/documents/{doc['id']}/grants/new", params={"who": "tax"}, headers=HTML)
    assert 'value="agency:tax-office"' in found.text
    assert "alice" not in re.findall(r'name="grantee" value="([^"]+)"', found.text)
    token = csrf_token(found)

    nothing = client.post(f"/documents/{doc['id']}/grants", data={"csrf_token": token, "who": "tax"}, headers=HTML)
    assert nothing.status_code == 422
    assert "Find and choose who to share the document with." in nothing.text
    assert "Choose what they may do with the document." in nothing.text
    share = {"csrf_token": token, "who": "tax", "grantee": "agency:tax-office", "days": "30", "purpose": "Tax 2026"}
    made = client.post(
        f"/documents/{doc['id']}/grants", data={**share, "permissions": ["view", "download"]}, follow_redirects=False
    )
    assert made.status_code == 303
    assert made.headers["location"] == f"/documents/{doc['id']}?shared=1#grants"
    assert client.get(f"/api/v1/documents/{doc['id']}/content", headers=as_user("olga")).status_code == 200

    bob = client.get(f"/documents/{doc['id']}/grants/new", params={"who": "Bob Cit"}, headers=HTML)
    assert 'value="person:bob"' in bob.text
    person = {**share, "grantee": "person:bob", "permissions": "view", "days": "7", "purpose": ""}
    assert client.post(f"/documents/{doc['id']}/grants", data=person, follow_redirects=False).status_code == 303
    unknown = {**share, "grantee": "person:nobody-at-all", "permissions": "view"}
    refused = client.post(f"/documents/{doc['id']}/grants", data=unknown, headers=HTML)
    assert refused.status_code == 422
    assert "they are not known to the vault" in refused.text

    text = document_page(client, doc["id"])
    assert "Agency: tax-office" in text
    assert "Bob Citizen" in text  # the person by name, not by subject
    assert "Tax 2026" in text
    revoke = re.findall(r'action="(/documents/[^"]+/grants/[^"]+/revoke)"', text)
    assert len(revoke) == 2
    gone = client.post(revoke[-1], data={"csrf_token": token}, follow_redirects=False)  # the oldest: the agency's
    assert gone.status_code == 303
    assert client.get(f"/api/v1/documents/{doc['id']}/content", headers=as_user("olga")).status_code == 404
    assert "Withdrawn" in document_page(client, doc["id"])
    assert client.post(revoke[0], data={}, headers=HTML).status_code == 403  # no CSRF token, nothing revoked
    assert client.get(f"/api/v1/documents/{doc['id']}", headers=as_user("bob")).status_code == 200
