"""The authorisation matrix: every route of the app by every kind of caller, against an explicit table.

The routes come from the app's own route table, so a new route without a rule here fails
`test_every_route_has_a_rule`. Path parameters are filled with real ids created for each route: citizen A's PDF,
A's grant of it to agency X (view + download), A's share link, X's request to A. Another principal's resource is
404, a wrong role 403, no token 401; public routes answer everybody alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

import signing
from tests.support.api import MINIMAL, DevTokens, ask, later, make_link, share, sign_with, subject, upload
from tests.support.vault_app import make_settings
from vault.settings import Settings

PRINCIPALS = ("anonymous", "citizen A", "citizen B", "agency X", "agency Y", "auditor", "admin")
USERS = {
    "citizen A": "alice",
    "citizen B": "bob",
    "agency X": "olga",
    "agency Y": "oscar",
    "auditor": "audrey",
    "admin": "admin",
}


@dataclass(frozen=True)
class World:
    """Real resources to fill path parameters and bodies with."""

    params: dict[str, str]
    document_id: str
    signed_pdf: bytes


Body = Callable[[World], dict[str, Any]]


@dataclass(frozen=True)
class Rule:
    """Expected status per principal (in `PRINCIPALS` order: the admin's last, 403 unless said) and how to build
    the request."""

    expected: tuple[int, int, int, int, int, int]
    request: Body | None = None
    admin: int = 403

    @property
    def statuses(self) -> tuple[int, ...]:
        return (*self.expected, self.admin)


def everyone(status: int, request: Body | None = None) -> Rule:
    return Rule((status,) * 6, request, admin=status)


def pdf_body(world: World) -> dict[str, Any]:
    return {"content": MINIMAL.read_bytes(), "headers": {"Content-Type": "application/pdf", "X-Document-Title": "t"}}


def new_grant(world: World) -> dict[str, Any]:
    return {"json": {"agency": "city-registry", "permissions": ["view"], "expires_at": later(days=1)}}


def new_request(world: World) -> dict[str, Any]:
    body = {"citizen": subject("alice"), "kinds": ["certificate"], "purpose": "p", "legal_basis": "b"}
    return {"json": {**body, "expires_at": later(days=1)}}


def issued_pdf(world: World) -> dict[str, Any]:
    headers = {"Content-Type": "application/pdf", "X-Document-Title": "Certificate", "X-Document-Kind": "certificate"}
    return {"content": world.signed_pdf, "headers": headers}


#               anonymous, A,   B,   X,   Y,   auditor
OWNER_READ = (401, 200, 404, 200, 404, 403)  # A owns it; X holds a view+download grant
OWNER_ONLY = (401, 200, 404, 403, 403, 403)  # citizen routes on A's resource
CITIZENS = (401, 200, 200, 403, 403, 403)
CITIZENS_AND_AGENCIES = (401, 200, 200, 200, 200, 403)
AUDITOR = (401, 403, 403, 403, 403, 200)

RULES: dict[tuple[str, str], Rule] = {
    # system and profile
    ("GET", "/health"): everyone(200),
    ("GET", "/ready"): everyone(200),
    ("GET", "/api/v1/me"): Rule((401, 200, 200, 200, 200, 200), admin=200),
    ("GET", "/api/v1/directory"): Rule((401, 200, 200, 200, 200, 200), lambda w: {"params": {"q": "al"}}, admin=200),
    ("PUT", "/api/v1/admin/legal-holds/{subject:str}"): Rule(
        (401, 403, 403, 403, 403, 403), lambda w: {"json": {"hold": True, "reason": "court order 12/2026"}}, admin=200
    ),
    ("DELETE", "/api/v1/me"): Rule(
        (401, 204, 204, 403, 403, 403), lambda w: {"params": {"confirm": "erase-my-account"}}
    ),
    # documents
    ("POST", "/api/v1/documents"): Rule((401, 201, 201, 403, 403, 403), pdf_body),
    ("GET", "/api/v1/documents"): Rule(CITIZENS),
    ("GET", "/api/v1/documents/{document_id:uuid}"): Rule(OWNER_READ),
    ("PATCH", "/api/v1/documents/{document_id:uuid}"): Rule(
        (401, 200, 404, 403, 403, 403), lambda w: {"json": {"title": "renamed"}}
    ),
    ("DELETE", "/api/v1/documents/{document_id:uuid}"): Rule((401, 204, 404, 403, 403, 403)),
    ("GET", "/api/v1/documents/{document_id:uuid}/versions"): Rule(OWNER_READ),
    ("POST", "/api/v1/documents/{document_id:uuid}/versions"): Rule((401, 201, 404, 403, 403, 403), pdf_body),
    ("GET", "/api/v1/documents/{document_id:uuid}/content"): Rule(OWNER_READ),
    ("HEAD", "/api/v1/documents/{document_id:uuid}/content"): Rule(OWNER_READ),
    # signatures: X's grant does not include `sign`
    ("POST", "/api/v1/documents/{document_id:uuid}/signatures"): Rule(
        (401, 201, 404, 404, 404, 403), lambda w: {"json": {}}
    ),
    ("GET", "/api/v1/documents/{document_id:uuid}/signatures"): Rule(OWNER_READ),
    ("POST", "/api/v1/verify"): everyone(200, pdf_body),
    # audit log
    ("GET", "/api/v1/audit/entries"): Rule(AUDITOR),
    ("GET", "/api/v1/audit/checkpoint"): Rule(AUDITOR),
    ("POST", "/api/v1/audit/checkpoints"): Rule((401, 403, 403, 403, 403, 201), admin=201),
    ("GET", "/api/v1/audit/proofs/inclusion"): Rule(AUDITOR, lambda w: {"params": {"seq": 0, "size": 1}}),
    ("GET", "/api/v1/audit/proofs/consistency"): Rule(AUDITOR, lambda w: {"params": {"first": 1, "second": 2}}),
    ("GET", "/api/v1/audit/export"): Rule(AUDITOR),
    ("GET", "/api/v1/audit/key"): everyone(200),
    ("GET", "/api/v1/audit/queue/{queue_id:int}"): Rule(AUDITOR),
    # the log as C2SP tlog-tiles: checkpoint and hash tiles public, entry bundles for auditors (a bad path: 404)
    ("GET", "/audit/checkpoint"): everyone(200),
    ("GET", "/audit/tile/{path:path}"): everyone(404),
    # the development PKI (development mode only): public like any CA's repository (an unknown path: 404)
    ("GET", "/dev-pki/{path:path}"): everyone(404),
    ("POST", "/dev-pki/{path:path}"): everyone(404),
    ("GET", "/audit/tile/entries/{path:path}"): Rule((401, 403, 403, 403, 403, 404)),
    # the CRLs the vault publishes: public (the development defaults publish none: 404)
    ("GET", "/pki/{name:str}"): everyone(404),
    ("GET", "/metrics"): everyone(200),
    # grants
    ("POST", "/api/v1/documents/{document_id:uuid}/grants"): Rule((401, 201, 404, 403, 403, 403), new_grant),
    ("GET", "/api/v1/grants"): Rule(CITIZENS),
    ("DELETE", "/api/v1/grants/{grant_id:uuid}"): Rule((401, 204, 404, 403, 403, 403)),
    ("GET", "/api/v1/shared"): Rule(CITIZENS_AND_AGENCIES),
    # share links: the token is the credential, so every caller gets the document
    ("POST", "/api/v1/documents/{document_id:uuid}/links"): Rule(
        (401, 201, 404, 403, 403, 403), lambda w: {"json": {"expires_at": later(days=1)}}
    ),
    ("GET", "/api/v1/links"): Rule(CITIZENS),
    ("DELETE", "/api/v1/links/{link_id:uuid}"): Rule((401, 204, 404, 403, 403, 403)),
    ("GET", "/s/{token:str}"): everyone(200),
    ("HEAD", "/s/{token:str}"): everyone(200),
    ("POST", "/s/{token:str}"): everyone(200, lambda w: {"data": {"password": ""}}),
    # the web portal: public pages, the sign-in flow and static assets; sessions, not bearer tokens
    ("GET", "/"): everyone(200),
    ("GET", "/login"): everyone(303, lambda w: {"follow_redirects": False}),  # to the provider
    ("GET", "/auth/callback"): everyone(400),  # no sign-in was started by this browser
    ("POST", "/logout"): everyone(403),  # no CSRF token
    ("GET", "/verify"): everyone(200),
    ("POST", "/verify"): everyone(400),  # not a form
    # signed-in pages: a bearer token is no portal session, so every caller is sent to sign in
    **{
        route: everyone(303, lambda w: {"follow_redirects": False})
        for route in (
            ("GET", "/documents"),
            ("GET", "/documents/new"),
            ("POST", "/documents"),
            ("GET", "/documents/{document_id:uuid}"),
            ("GET", "/documents/{document_id:uuid}/download"),
            ("POST", "/documents/{document_id:uuid}/links"),
            ("POST", "/documents/{document_id:uuid}/links/{link_id:uuid}/revoke"),
            ("GET", "/access-log"),
            # the citizen's portal pages (merged from portal-citizen)
            ("GET", "/account"),
            ("GET", "/account/archive"),
            ("POST", "/account/erase"),
            ("GET", "/documents/{document_id:uuid}/grants/new"),
            ("POST", "/documents/{document_id:uuid}/grants"),
            ("POST", "/documents/{document_id:uuid}/grants/{grant_id:uuid}/revoke"),
            ("GET", "/documents/{document_id:uuid}/preview"),
            ("GET", "/documents/{document_id:uuid}/sign"),
            ("POST", "/documents/{document_id:uuid}/sign"),
            ("GET", "/documents/{document_id:uuid}/signatures"),
            ("GET", "/requests"),
            ("GET", "/requests/new"),
            ("POST", "/requests"),
            ("POST", "/requests/{request_id:uuid}/answer"),
            # the officer's and the auditor's pages (merged from portal-roles)
            ("GET", "/agency/documents"),
            ("GET", "/agency/documents/{document_id:uuid}"),
            ("GET", "/agency/documents/{document_id:uuid}/download"),
            ("GET", "/agency/documents/{document_id:uuid}/signatures"),
            ("GET", "/agency/issue"),
            ("POST", "/agency/issue"),
            ("GET", "/auditor"),
            ("GET", "/auditor/checkpoints"),
            ("POST", "/auditor/checkpoints"),
            ("GET", "/auditor/export"),
            ("GET", "/auditor/key"),
            ("GET", "/auditor/proofs/consistency"),
            ("GET", "/auditor/proofs/inclusion"),
        )
    },
    # public (no token asked); the table's file name is the OpenAPI viewer's, so /static answers 404
    ("GET", "/static/{file_path:path}"): everyone(404),
    ("HEAD", "/static/{file_path:path}"): everyone(404),
    # agency requests
    ("POST", "/api/v1/requests"): Rule((401, 403, 403, 201, 201, 403), new_request),
    ("GET", "/api/v1/requests"): Rule(CITIZENS_AND_AGENCIES),
    ("POST", "/api/v1/requests/{request_id:uuid}/approve"): Rule(
        (401, 200, 404, 403, 403, 403), lambda w: {"json": {"documents": [w.document_id]}}
    ),
    ("POST", "/api/v1/requests/{request_id:uuid}/deny"): Rule((401, 200, 404, 403, 403, 403)),
    # issuance
    ("POST", "/api/v1/citizens/{subject:str}/documents"): Rule((401, 403, 403, 201, 201, 403), issued_pdf),
    # access log
    ("GET", "/api/v1/me/access-log"): Rule(CITIZENS),
    ("GET", "/api/v1/me/access-log/{seq:int}/receipt"): Rule((401, 200, 404, 403, 403, 403)),
    ("GET", "/api/v1/documents/{document_id:uuid}/signatures/{version:int}/evidence"): Rule(
        (401, 404, 404, 404, 404, 403)
    ),
    # the development identity provider (public by necessity; refused in production)
    ("GET", "/dev-idp/.well-known/openid-configuration"): everyone(200),
    ("GET", "/dev-idp/jwks"): everyone(200),
    ("GET", "/dev-idp/authorize"): everyone(400),
    ("POST", "/dev-idp/authorize"): everyone(400, lambda w: {"data": {"username": "alice"}}),
    ("POST", "/dev-idp/token"): everyone(400, lambda w: {"data": {"grant_type": "password"}}),
    # the OpenAPI document and its viewers (public)
    ("GET", "/schema"): everyone(200),
    ("GET", "/schema/openapi.json"): everyone(200),
    ("GET", "/schema/swagger"): everyone(200),
    ("GET", "/schema/oauth2-redirect.html"): everyone(200),
    ("GET", "/schema/{path:str}"): everyone(404),
    ("GET", "/schema/assets/{file_path:path}"): everyone(200, lambda w: {"params": {}}),
    ("HEAD", "/schema/assets/{file_path:path}"): everyone(200),
}


# Error pages that are not problem details: the dev provider's HTML login errors and OAuth JSON errors, Litestar's
# OpenAPI plugin (its unknown-viewer page is HTML), and the portal's sign-in pages (a person is always there).
NOT_PROBLEM_DETAILS = ("/dev-idp", "/schema", "/auth/callback", "/logout")


def app_routes(app: Litestar) -> set[tuple[str, str]]:
    """(method, path template) of every route handler; OPTIONS are Litestar's automatic CORS answers."""
    return {
        (method, route.path)
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for method in route.route_handler_map
        if method != "OPTIONS"
    }


@pytest.fixture(scope="module")
def agency_pki(tmp_path_factory: pytest.TempPathFactory) -> signing.DevPki:
    return signing.ensure_dev_pki(tmp_path_factory.mktemp("matrix") / "agency-pki", "Matrix Agency Seal")


@pytest.fixture(scope="module")
def signed_pdf(agency_pki: signing.DevPki) -> bytes:
    return sign_with(agency_pki)


@pytest.fixture
def settings(tmp_path: Path, database_url: str, agency_pki: signing.DevPki) -> Settings:
    # both agencies may issue the matrix's PDF: its seal is registered for each
    seal = f"{agency_pki.seal_key_path},{agency_pki.seal_cert_path},{agency_pki.issuing_cert_path}"
    seals = f"tax-office={seal};city-registry={seal}"
    return make_settings(tmp_path, database_url, trust_roots=str(agency_pki.root_cert_path), agency_seals=seals)


@pytest.fixture
def world(client: TestClient[Litestar], as_user: DevTokens, signed_pdf: bytes) -> World:
    alice = as_user("alice")
    response = client.post(
        "/api/v1/documents",
        content=MINIMAL.read_bytes(),
        headers={
            **alice,
            "Content-Type": "application/pdf",
            "X-Document-Title": "A's PDF",
            "X-Document-Kind": "certificate",
        },
    )
    assert response.status_code == 201, response.text
    document_id = response.json()["id"]
    upload(client, as_user("bob"), b"B's own document")
    grant = share(client, alice, document_id, agency="tax-office", permissions=["view", "download"])
    link = make_link(client, alice, document_id, max_downloads=20)
    request = ask(client, as_user("olga"))
    assert client.post("/api/v1/audit/checkpoints", headers=as_user("audrey")).status_code == 201
    params = {
        "document_id": document_id,
        "grant_id": grant["id"],
        "link_id": link["link"]["id"],
        "request_id": request["id"],
        "subject": subject("alice"),
        "token": link["token"],
        "path": "no-such-viewer",
        "name": "identity-ca.crl",
        "file_path": "swagger-ui.css",
        "queue_id": "1",
        "version": "1",  # an upload: no evidence (404) for whoever may see the document
        "seq": str(client.get("/api/v1/me/access-log", headers=alice).json()["items"][-1]["seq"]),
    }
    return World(params, document_id, signed_pdf)


def test_every_route_has_a_rule(client: TestClient[Litestar]) -> None:
    routes = app_routes(client.app)
    missing = sorted(routes - RULES.keys())
    stale = sorted(RULES.keys() - routes)
    assert not missing, f"routes without an authorisation rule (add them to RULES): {missing}"
    assert not stale, f"rules for routes that no longer exist (remove them from RULES): {stale}"


def _fill(path: str, params: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: params[m.group(1)], path)


@pytest.mark.parametrize(("method", "path"), sorted(RULES), ids=[f"{m} {p}" for m, p in sorted(RULES)])
def test_route_answers_each_principal_as_the_table_says(
    client: TestClient[Litestar], as_user: DevTokens, world: World, method: str, path: str
) -> None:
    rule = RULES[(method, path)]
    url = _fill(path, world.params)
    # callers expected to succeed go last, so a successful DELETE or answer cannot mask the others' outcome
    order = sorted(range(len(PRINCIPALS)), key=lambda i: 200 <= rule.statuses[i] < 300)
    actual: dict[str, int] = {}
    for i in order:
        principal = PRINCIPALS[i]
        kwargs = rule.request(world) if rule.request else {}
        headers = {**kwargs.pop("headers", {}), **(as_user(USERS[principal]) if principal in USERS else {})}
        response = client.request(method, url, headers=headers, **kwargs)
        actual[principal] = response.status_code
        if response.status_code >= 400 and method != "HEAD" and not path.startswith(NOT_PROBLEM_DETAILS):
            assert response.headers["content-type"] == "application/problem+json", (principal, response.text)
    expected = dict(zip(PRINCIPALS, rule.statuses, strict=True))
    assert {p: actual[p] for p in PRINCIPALS} == expected


MASS_ASSIGNMENT = {"owner": "x", "owner_id": "x", "issuer": "https://evil.example", "requester_subject": "x"}
JSON_BODIES = [
    ("POST", "/api/v1/documents/{document_id:uuid}/grants", "alice"),
    ("POST", "/api/v1/documents/{document_id:uuid}/links", "alice"),
    ("POST", "/api/v1/requests", "olga"),
    ("POST", "/api/v1/requests/{request_id:uuid}/approve", "alice"),
]


@pytest.mark.parametrize("field", sorted(MASS_ASSIGNMENT))
@pytest.mark.parametrize(("method", "path", "user"), JSON_BODIES, ids=[p for _, p, _ in JSON_BODIES])
def test_mass_assignment_fields_are_rejected(
    client: TestClient[Litestar], as_user: DevTokens, world: World, method: str, path: str, user: str, field: str
) -> None:
    request = RULES[(method, path)].request
    assert request is not None
    body = request(world)["json"] | {field: MASS_ASSIGNMENT[field]}
    response = client.request(method, _fill(path, world.params), json=body, headers=as_user(user))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_automatic_options_answers_reveal_nothing(client: TestClient[Litestar], world: World) -> None:
    """OPTIONS (Litestar's automatic answer, outside the table) lists methods at most; never data."""
    paths = {path for _, path in app_routes(client.app)}
    for path in sorted(paths):
        response = client.options(_fill(path, world.params))
        assert response.status_code in (204, 401), (path, response.status_code)
        if response.status_code == 204:
            assert response.content == b"", path
        else:
            assert response.headers["content-type"] == "application/problem+json", path
