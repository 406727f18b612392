"""Public portal pages over HTTP: the share-link landing (looking never uses a link up) and /verify."""

from __future__ import annotations

import json
from pathlib import Path

from litestar import Litestar
from litestar.testing import TestClient

from tests.integration.conftest import DevTokens
from tests.integration.test_documents_api import DOCS, upload
from tests.integration.test_sharing_links import make_link
from tests.support.portal import csrf_token, heading
from vault.web.rendering import format_size

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
MINIMAL = (Path(__file__).resolve().parents[1] / "data" / "pdf" / "minimal.pdf").read_bytes()


def downloads_left(client: TestClient[Litestar], token: str) -> int:
    landing = client.get(f"/s/{token}", headers={"Accept": "application/json"})
    assert landing.status_code == 200, landing.text
    return int(landing.json()["downloads_left"])


def test_looking_at_a_link_never_uses_it_and_downloading_does(client: TestClient[Litestar], as_user: DevTokens) -> None:
    doc = upload(client, as_user("alice"), b"diploma bytes", title="Diploma", media_type="text/plain")
    token = make_link(client, as_user("alice"), doc["id"], max_downloads=3)["token"]
    for _ in range(5):
        page = client.get(f"/s/{token}", headers=HTML)
        assert page.status_code == 200
        assert heading(page) == "Diploma"
        assert page.headers["referrer-policy"] == "no-referrer"
        assert page.headers["x-robots-tag"] == "noindex"
        assert "default-src 'none'" in page.headers["content-security-policy"]
        for accept in (HTML, {"Accept": "application/json"}):
            head = client.head(f"/s/{token}", headers=accept)
            assert head.status_code == 200
            assert head.content == b""
        assert downloads_left(client, token) == 3  # mail scanners, previews and scripts only look
    form = client.get(f"/s/{token}", headers=HTML)
    assert "Downloads left" in form.text
    download = client.post(f"/s/{token}", data={"csrf_token": csrf_token(form)}, headers=HTML)
    assert download.status_code == 200
    assert download.content == b"diploma bytes"
    assert download.headers["referrer-policy"] == "no-referrer"
    assert downloads_left(client, token) == 2


def test_the_landing_tells_what_is_shared_as_json(client: TestClient[Litestar], as_user: DevTokens) -> None:
    doc = upload(client, as_user("alice"), MINIMAL, title="Payslip", media_type="application/pdf")
    token = make_link(client, as_user("alice"), doc["id"], max_downloads=2, password="correct horse")["token"]
    landing = client.get(f"/s/{token}", headers={"Accept": "application/json"}).json()
    assert landing["title"] == "Payslip"
    assert landing["size"] == len(MINIMAL)
    assert landing["password_required"] is True
    assert landing["available"] is True
    page = client.get(f"/s/{token}", headers=HTML)
    assert format_size(len(MINIMAL)) in page.text
    assert 'type="password"' in page.text


def test_a_wrong_password_in_the_browser_answers_the_form_again(
    client: TestClient[Litestar], as_user: DevTokens
) -> None:
    doc = upload(client, as_user("alice"), b"tax return", title="Tax return")
    token = make_link(client, as_user("alice"), doc["id"], max_downloads=1, password="correct horse")["token"]
    token_field = csrf_token(client.get(f"/s/{token}", headers=HTML))
    wrong = client.post(f"/s/{token}", data={"csrf_token": token_field, "password": "nope"}, headers=HTML)
    assert wrong.status_code == 403
    assert "There is a problem" in wrong.text
    assert "The password is not correct." in wrong.text
    no_token = client.post(f"/s/{token}", data={"password": "correct horse"}, headers=HTML)
    assert no_token.status_code == 403  # a browser holding our cookie must send the form's token
    assert heading(no_token) == "This form has expired"
    right = client.post(f"/s/{token}", data={"csrf_token": token_field, "password": "correct horse"}, headers=HTML)
    assert right.content == b"tax return"
    used_up = client.get(f"/s/{token}", headers=HTML)
    assert used_up.status_code == 410
    assert heading(used_up) == "This link no longer works"
    assert "used as many times as allowed" in used_up.text


def test_unknown_links_are_a_page_for_browsers_and_a_problem_for_scripts(client: TestClient[Litestar]) -> None:
    page = client.get("/s/" + "A" * 43, headers=HTML)
    assert page.status_code == 404
    assert heading(page) == "Page not found"
    problem = client.get("/s/" + "A" * 43)
    assert problem.headers["content-type"] == "application/problem+json"


def signed_pdf(client: TestClient[Litestar], as_user: DevTokens) -> bytes:
    doc = upload(client, as_user("alice"), MINIMAL, title="Contract", media_type="application/pdf")
    signed = client.post(f"{DOCS}/{doc['id']}/signatures", headers=as_user("alice"), json={"level": "B-B"})
    assert signed.status_code == 201, signed.text
    return client.get(f"{DOCS}/{doc['id']}/content", headers=as_user("alice")).content


def verify(client: TestClient[Litestar], pdf: bytes, action: str = "check", name: str = "contract.pdf") -> object:
    token = csrf_token(client.get("/verify", headers=HTML))
    return client.post(
        "/verify",
        data={"csrf_token": token, "action": action},
        files={"file": (name, pdf, "application/pdf")},
        headers=HTML,
    )


def test_verify_tells_a_person_who_signed_and_whether_it_changed(
    client: TestClient[Litestar], as_user: DevTokens
) -> None:
    pdf = signed_pdf(client, as_user)
    page = verify(client, pdf)
    assert page.status_code == 200, page.text[:3000]
    assert "Results for contract.pdf" in page.text
    # B-T with no revocation data embedded, and this test client cannot fetch any: not a pass yet
    assert "tag--amber" in page.text
    assert "whether the certificate was revoked is not known" in page.text
    assert "Alice Citizen" in page.text  # who signed: the citizen, in her own name
    assert "Nothing has changed since it was signed." in page.text
    assert "The time is proven by a trusted timestamp." in page.text  # a person's signature is B-T at least
    assert "ETSI EN 319 102-1" in page.text

    tampered = pdf.replace(b"(Citizen Vault test document)", b"(Citizen Vault test d0cument)", 1)
    assert tampered != pdf
    broken = verify(client, tampered)
    assert broken.status_code == 200
    assert "tag--red" in broken.text
    assert "Not valid: the document was changed after it was signed." in broken.text

    damaged = verify(client, pdf[: len(pdf) // 3])
    assert damaged.status_code == 422
    assert "could not be read" in damaged.text

    report = verify(client, pdf, action="json")
    assert report.headers["content-disposition"] == 'attachment; filename="verification-report.json"'
    assert json.loads(report.content)["signatures"][0]["intact"] is True
    xml = verify(client, pdf, action="xml")
    assert xml.headers["content-type"].startswith("application/xml")
    assert b"ValidationReport" in xml.content


def test_verify_asks_for_a_pdf(client: TestClient[Litestar]) -> None:
    token = csrf_token(client.get("/verify", headers=HTML))
    no_file = {"other": ("x", b"", "text/plain")}
    missing = client.post("/verify", data={"csrf_token": token}, files=no_file, headers=HTML)
    assert missing.status_code == 400
    assert "Select a PDF file." in missing.text
    not_pdf = client.post(
        "/verify", data={"csrf_token": token}, files={"file": ("a.txt", b"hello", "text/plain")}, headers=HTML
    )
    assert not_pdf.status_code == 415
    assert "The selected file must be a PDF." in not_pdf.text
    assert 'class="error-summary"' in not_pdf.text
