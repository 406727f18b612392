"""The built-in DEVELOPMENT identity provider: demo users, an ES256 key on disk, RFC 9068 access tokens.

Loud by design: anyone who reaches its login page can become any demo user, the admin included. It exists so
that `vault serve` works with no configuration, and it refuses to run when the environment is production.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from auth._authorization import AuthorizationCodeStore, AuthorizationRequest, AuthorizationResponse
from auth._dev_users import DEMO_USERS, DemoUser
from auth._errors import AuthError, AuthorizationRequestError, DevProviderRefused

__all__ = ("DEV_ACR", "DEV_USER_GRANT_TYPE", "DevIdentityProvider")

DEV_USER_GRANT_TYPE = "urn:citizen-vault:dev-user"
"""Token-endpoint grant type minting a token for a named demo user (the `vault token <user>` path)."""

DEV_ACR = "urn:citizen-vault:dev:no-assurance"
"""The `acr` of every token this provider issues. No real level (not eIDAS low, not NIST IAL/AAL 1): nobody's
identity was checked and no credential was presented (anyone who reaches the login page picks any demo user), so
it says so, and it lands as such in identity certificates, audit entries and signing evidence."""

_ALG = "ES256"
_ID_TOKEN_LIFETIME = 300


class DevIdentityProvider:
    """An OpenID provider for development: demo users, no passwords, one ES256 key.

    Args:
        signing_key: The private P-256 key.
        issuer: The issuer URL, e.g. `http://127.0.0.1:8000/dev-idp`.
        audience: The `aud` of access tokens (the vault's configured audience).
        clock: Wall clock in seconds (replaceable in tests).
    """

    def __init__(
        self, signing_key: ECKey, issuer: str, audience: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        if not signing_key.is_private or signing_key.get("crv") != "P-256":
            raise ValueError("the development provider needs a private P-256 key")
        self._key = signing_key
        self._kid = signing_key.thumbprint()
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self._clock = clock
        self._codes = AuthorizationCodeStore(self.issuer, clock)

    @staticmethod
    def refuse_in_production(env: str) -> None:
        """Raise when the service runs in production mode.

        Raises:
            DevProviderRefused: `env` is "production".
        """
        if env.strip().lower() == "production":
            raise DevProviderRefused()

    @classmethod
    def load_or_create(
        cls,
        key_path: Path,
        issuer: str,
        audience: str,
        *,
        env: str = "development",
        clock: Callable[[], float] = time.time,
    ) -> DevIdentityProvider:
        """The provider with the key at `key_path`, creating the key (mode 0600) on first use.

        Args:
            key_path: PEM file of the private key.
            issuer: The issuer URL.
            audience: The `aud` of access tokens.
            env: The service environment; "production" is refused.
            clock: Wall clock in seconds (replaceable in tests).

        Raises:
            DevProviderRefused: In production.
            AuthError: The key file is readable by others or is not a P-256 private key.
        """
        cls.refuse_in_production(env)
        return cls(_load_or_create_key(key_path), issuer, audience, clock=clock)

    @property
    def key_id(self) -> str:
        """The `kid` of the signing key (its RFC 7638 thumbprint)."""
        return self._kid

    def discovery_document(self) -> dict[str, Any]:
        """The OpenID Connect discovery document."""
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", DEV_USER_GRANT_TYPE],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [_ALG],
            "token_endpoint_auth_methods_supported": ["none"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "profile"],
            "claims_supported": ["sub", "name", "roles", "agency", "acr"],
            "acr_values_supported": [DEV_ACR],
            "authorization_response_iss_parameter_supported": True,
        }

    def jwks(self) -> dict[str, Any]:
        """The public key set (never the private part)."""
        public = self._key.as_dict(private=False, kid=self._kid, use="sig", alg=_ALG)
        return {"keys": [public]}

    def issue_access_token(
        self, username: str, client_id: str = "vault-cli", lifetime: int = 3600, scope: str = "openid profile"
    ) -> str:
        """An RFC 9068 JWT access token for a demo user.

        Raises:
            AuthorizationRequestError: Unknown user.
        """
        user = _demo_user(username)
        claims = self._user_claims(username, user, self.audience, lifetime)
        claims.update(
            nbf=claims["iat"],
            jti=secrets.token_urlsafe(16),
            client_id=client_id,
            scope=scope,
            roles=list(user.roles),
        )
        if user.agency is not None:
            claims["agency"] = user.agency
        return self._sign("at+jwt", claims)

    def issue_id_token(
        self, username: str, client_id: str, nonce: str | None = None, lifetime: int = _ID_TOKEN_LIFETIME
    ) -> str:
        """An OpenID Connect ID token (typ JWT, aud = the client) for a demo user.

        Raises:
            AuthorizationRequestError: Unknown user.
        """
        claims = self._user_claims(username, _demo_user(username), client_id, lifetime)
        claims["auth_time"] = claims["iat"]
        if nonce is not None:
            claims["nonce"] = nonce
        return self._sign("JWT", claims)

    def _user_claims(self, username: str, user: DemoUser, audience: str, lifetime: int) -> dict[str, Any]:
        """The claims every token of a demo user carries: issuer, subject, audience, times, names, assurance."""
        now = int(self._clock())
        return {
            "iss": self.issuer,
            "sub": user.subject,
            "aud": audience,
            "exp": now + lifetime,
            "iat": now,
            "name": user.name,
            "preferred_username": username,
            "acr": DEV_ACR,  # RFC 9068 §2.2.1 and OIDC Core §2: the assurance of this sign-in (none)
        }

    def begin_authorization(
        self,
        client_id: str,
        redirect_uri: str,
        code_challenge: str,
        method: str,
        *,
        state: str | None,
        nonce: str | None,
        scope: str = "openid",
    ) -> AuthorizationRequest:
        """Validate an authorization request (code + PKCE S256) and open a login transaction.

        Raises:
            AuthorizationRequestError: Bad client, redirect URI or PKCE parameters.
        """
        return self._codes.begin(
            client_id=client_id,
            redirect_uri=redirect_uri,
            code_challenge=code_challenge,
            method=method,
            state=state,
            nonce=nonce,
            scope=scope,
        )

    def pending_authorization(self, transaction_id: str) -> AuthorizationRequest:
        """The open login transaction, for rendering the login page.

        Raises:
            AuthorizationRequestError: Unknown or expired transaction.
        """
        return self._codes.pending(transaction_id)

    def complete_login(self, username: str, transaction_id: str) -> AuthorizationResponse:
        """The user picked an account: consume the transaction and issue a one-time code (60 s).

        Raises:
            AuthorizationRequestError: Unknown user, or unknown/expired/used transaction.
        """
        _demo_user(username)
        code, request = self._codes.complete(transaction_id, username)
        return AuthorizationResponse(request.redirect_uri, code, request.state, self.issuer)

    def exchange_code(self, code: str, client_id: str, redirect_uri: str, code_verifier: str) -> dict[str, Any]:
        """Redeem an authorization code (once) for an access token and an ID token.

        Raises:
            AuthorizationRequestError: `invalid_grant` when the code is unknown, used, expired, issued to
                another client or redirect URI, or the PKCE verifier does not match.
        """
        issued = self._codes.redeem(code, client_id, redirect_uri, code_verifier)
        request = issued.request
        lifetime = 3600
        response: dict[str, Any] = {
            "access_token": self.issue_access_token(issued.username, client_id, lifetime, request.scope),
            "token_type": "Bearer",
            "expires_in": lifetime,
            "scope": request.scope,
        }
        if "openid" in request.scope.split():
            response["id_token"] = self.issue_id_token(issued.username, client_id, request.nonce)
        return response

    def _sign(self, typ: str, claims: dict[str, Any]) -> str:
        header = {"alg": _ALG, "typ": typ, "kid": self._kid}
        return jwt.encode(header, claims, self._key, algorithms=[_ALG])


def _demo_user(username: str) -> DemoUser:
    user = DEMO_USERS.get(username)
    if user is None:
        raise AuthorizationRequestError("access_denied", "unknown demo user")
    return user


def _load_or_create_key(key_path: Path) -> ECKey:
    try:
        return _load_key(key_path)
    except FileNotFoundError:
        pass
    key = ECKey.generate_key("P-256", private=True)
    key_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        # O_EXCL: two processes starting at once must not overwrite each other's key
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _load_key(key_path)
    with os.fdopen(fd, "wb") as out:
        out.write(key.as_pem(private=True))
    return key


def _load_key(key_path: Path) -> ECKey:
    with key_path.open("rb") as key_file:
        # a signing key others can read lets them mint tokens: refuse it like ssh does
        if stat.S_IMODE(os.fstat(key_file.fileno()).st_mode) & 0o077:
            raise AuthError("the development provider's key file must not be readable by others (chmod 600)")
        pem = key_file.read()
    key = None
    with contextlib.suppress(JoseError, ValueError, TypeError):
        key = ECKey.import_key(pem)
    if key is None or not key.is_private or key.get("crv") != "P-256":
        raise AuthError("the development provider's key file does not hold a P-256 private key")
    return key
