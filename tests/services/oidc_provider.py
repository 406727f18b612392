"""The external OpenID provider: npm `oidc-provider` (tests/oidc/provider.mjs) on a free loopback port.

Fixture `oidc_provider` (session): `.issuer`, `.audience` ("citizen-vault"), `.token(principal)` (a client
credentials RFC 9068 access token, cached until a minute before it expires), `.id_token()` (a genuine ID
token from the authorization code + PKCE flow driven through the provider's dev login pages).
Principals: citizen-a, citizen-b, agency-x, agency-y, auditor, admin, norole.

The test session generates the provider's signing key and hands it over in a file, so `.sign(header, claims)`
can forge tokens with the provider's genuine key: each differs from a real token in exactly one respect, which
is how a test proves that one particular check (expiry, issuer, audience, ...) is what refuses it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.services._proc import ServiceProcess, free_port, wait_for_http

__all__ = ("PRINCIPALS", "OidcProvider", "oidc_provider")

OIDC_DIR = Path(__file__).resolve().parents[1] / "oidc"
PRINCIPALS = ("citizen-a", "citizen-b", "agency-x", "agency-y", "auditor", "admin", "norole")
AUDIENCE = "citizen-vault"
RESOURCE = "urn:citizen-vault"
# the browser-login client of provider.mjs; its ID tokens carry aud = citizen-vault on purpose
BROWSER_CLIENT = "citizen-vault"
BROWSER_REDIRECT_URI = "http://127.0.0.1/callback"
_FORM = re.compile(r'<form[^>]*action="(?P<action>[^"]+)"[^>]*>.*?name="prompt" value="(?P<prompt>\w+)"', re.S)


@dataclass
class OidcProvider:
    """A running oidc-provider and helpers to get tokens from it.

    Attributes:
        issuer: The issuer URL (discovery at `{issuer}/.well-known/openid-configuration`).
        audience: The `aud` of its access tokens.
        resource: The RFC 8707 resource indicator that selects that audience.
        port: Its loopback port.
        process: The child process (for its log).
        signing_key: The provider's private signing key (RS256), known to the tests only.
    """

    issuer: str
    audience: str
    resource: str
    port: int
    process: ServiceProcess
    signing_key: RSAKey
    _tokens: dict[str, tuple[str, float]] = field(default_factory=dict, repr=False)

    def token(self, principal: str) -> str:
        """A client-credentials access token (JWT) for a test principal, cached while fresh."""
        cached = self._tokens.get(principal)
        if cached is not None and cached[1] - time.time() > 60:
            return cached[0]
        if principal not in PRINCIPALS:
            raise KeyError(f"unknown test principal {principal!r}; known: {', '.join(PRINCIPALS)}")
        response = httpx.post(
            f"{self.issuer}/token",
            auth=(principal, f"{principal}-secret"),
            data={"grant_type": "client_credentials", "resource": self.resource},
            timeout=10,
        )
        response.raise_for_status()
        body = response.json()
        self._tokens[principal] = (body["access_token"], time.time() + body["expires_in"])
        return str(body["access_token"])

    @property
    def key_id(self) -> str:
        """The `kid` of the provider's signing key."""
        return str(self.signing_key.kid)

    def sign(self, header: dict[str, object], claims: dict[str, object]) -> str:
        """A JWT signed with the provider's genuine key (RS256, its kid) unless `header` says otherwise."""
        full_header = {"alg": "RS256", "typ": "at+jwt", "kid": self.key_id, **header}
        return jwt.encode(full_header, claims, self.signing_key, algorithms=[str(full_header["alg"])])

    def id_token(self, login: str = "alice") -> str:
        """A genuine ID token: authorization code + PKCE, signing in as `login` on the dev login pages."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        with httpx.Client(base_url=self.issuer, follow_redirects=False, timeout=10) as client:
            response = client.get(
                "/auth",
                params={
                    "client_id": BROWSER_CLIENT,
                    "response_type": "code",
                    "scope": "openid",
                    "redirect_uri": BROWSER_REDIRECT_URI,
                    "code_challenge": challenge,
                    "code_challenge_method": "S256",
                    "state": secrets.token_urlsafe(8),
                    "nonce": secrets.token_urlsafe(8),
                },
            )
            code = _drive_interactions(client, response, login)
            tokens = client.post(
                "/token",
                auth=(BROWSER_CLIENT, f"{BROWSER_CLIENT}-secret"),
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": BROWSER_REDIRECT_URI,
                    "code_verifier": verifier,
                },
            )
        tokens.raise_for_status()
        return str(tokens.json()["id_token"])


def _drive_interactions(client: httpx.Client, response: httpx.Response, login: str) -> str:
    """Follow redirects, submit the login and consent forms, and return the code from the callback."""
    for _ in range(10):
        if response.status_code == 200:
            form = _FORM.search(response.text)
            if form is None:
                raise AssertionError(f"unexpected interaction page: {response.text[:500]}")
            data = {"prompt": form["prompt"]}
            if form["prompt"] == "login":
                data |= {"login": login, "password": "any"}
            response = client.post(form["action"], data=data)
            continue
        location = response.headers.get("location")
        if response.status_code not in (302, 303) or not location:
            raise AssertionError(f"unexpected response {response.status_code}: {response.text[:500]}")
        if location.startswith(BROWSER_REDIRECT_URI):
            params = dict(parse_qsl(urlsplit(location).query))
            if "code" not in params:
                raise AssertionError(f"authorization failed: {params}")
            return params["code"]
        response = client.get(location)
    raise AssertionError("the login flow did not reach the callback")


def start_oidc_provider(log_dir: Path) -> OidcProvider:
    """Start provider.mjs on a free port and wait for its discovery document; pytest.fail on failure."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js (`node`) is not on PATH: the OpenID provider tests need Node 20+")
    if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail(f"npm packages missing: run `npm ci` in {OIDC_DIR} (scripts/test does it)")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    signing_key = RSAKey.generate_key(2048, parameters={"alg": "RS256", "use": "sig"}, auto_kid=True)
    jwks_file = log_dir / "signing-jwks.json"
    fd = os.open(jwks_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"keys": [signing_key.as_dict(private=True)]}, out)
    process = ServiceProcess(
        "oidc-provider",
        [node, str(OIDC_DIR / "provider.mjs"), "--port", str(port), "--issuer", issuer],
        log_dir,
        env={"OIDC_JWKS_FILE": str(jwks_file)},
        cwd=OIDC_DIR,
    )
    try:
        wait_for_http(f"{issuer}/.well-known/openid-configuration", timeout=30, proc=process.proc)
    except (RuntimeError, TimeoutError) as exc:
        tail = process.log_tail()
        process.stop()
        pytest.fail(f"the OpenID provider did not start: {exc}\n--- log ---\n{tail}")
    return OidcProvider(
        issuer=issuer,
        audience=AUDIENCE,
        resource=RESOURCE,
        port=port,
        process=process,
        signing_key=signing_key,
    )


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    """A running npm oidc-provider for the whole session, stopped at the end."""
    provider = start_oidc_provider(tmp_path_factory.mktemp("oidc-provider"))
    try:
        yield provider
    finally:
        provider.process.stop()
