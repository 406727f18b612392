"""Authorization code + PKCE bookkeeping for the development provider: login transactions, one-time codes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import ip_address
from typing import TypeVar
from urllib.parse import urlencode, urlsplit

from auth._errors import AuthorizationRequestError

__all__ = ("AuthorizationCodeStore", "AuthorizationRequest", "AuthorizationResponse", "IssuedCode", "s256")

CODE_LIFETIME_SECONDS = 60
TRANSACTION_LIFETIME_SECONDS = 600
_MAX_PENDING = 10_000
# RFC 7636, 4.1 and 4.2: 43-128 unreserved characters
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")
_LOOPBACK_NAMES = frozenset({"localhost"})


def s256(verifier: str) -> str:
    """The PKCE S256 code challenge of a verifier (RFC 7636, 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class AuthorizationRequest:
    """A validated authorization request waiting for the user to pick an account.

    Attributes:
        transaction_id: Random, single-use handle the login form posts back.
        client_id: The requesting client.
        redirect_uri: Where the code goes.
        code_challenge: The PKCE S256 challenge.
        state: Opaque client value, returned unchanged.
        nonce: Put into the ID token, or None.
        scope: Space-separated scopes.
        expires_at: Epoch seconds after which the transaction is void.
    """

    transaction_id: str
    client_id: str
    redirect_uri: str
    code_challenge: str
    state: str | None
    nonce: str | None
    scope: str
    expires_at: float


@dataclass(frozen=True)
class IssuedCode:
    """An authorization code bound to its request and the user who signed in."""

    request: AuthorizationRequest
    username: str
    expires_at: float


@dataclass(frozen=True)
class AuthorizationResponse:
    """Where to send the browser after a successful login.

    Attributes:
        redirect_uri: The client's registered redirect URI.
        code: The one-time authorization code.
        state: The client's state, if it sent one.
        issuer: The provider's issuer (RFC 9207 `iss` response parameter).
    """

    redirect_uri: str
    code: str
    state: str | None
    issuer: str

    @property
    def location(self) -> str:
        """The redirect URL carrying `code`, `state` and `iss`."""
        params = {"code": self.code, "iss": self.issuer}
        if self.state is not None:
            params["state"] = self.state
        separator = "&" if urlsplit(self.redirect_uri).query else "?"
        return f"{self.redirect_uri}{separator}{urlencode(params)}"


def redirect_uri_allowed(redirect_uri: str, issuer: str) -> bool:
    """Whether the development provider may send codes to this URI.

    Only loopback addresses (RFC 8252, 7.3) and the provider's own origin: a development provider must not
    become an open redirector handing codes to arbitrary sites.
    """
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment:
        return False
    own = urlsplit(issuer)
    if (parts.scheme, parts.netloc) == (own.scheme, own.netloc):
        return True
    if parts.hostname in _LOOPBACK_NAMES:
        return True
    try:
        return ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


class AuthorizationCodeStore:
    """Pending login transactions and issued codes, in memory (the development provider is one process).

    Args:
        issuer: The provider's issuer, for redirect URI checks.
        clock: Wall clock in seconds.
    """

    def __init__(self, issuer: str, clock: Callable[[], float] = time.time) -> None:
        self._issuer = issuer
        self._clock = clock
        self._transactions: dict[str, AuthorizationRequest] = {}
        self._codes: dict[str, IssuedCode] = {}

    def begin(
        self,
        *,
        client_id: str,
        redirect_uri: str,
        code_challenge: str,
        method: str,
        state: str | None,
        nonce: str | None,
        scope: str,
    ) -> AuthorizationRequest:
        """Validate an authorization request and remember it until the user signs in.

        Raises:
            AuthorizationRequestError: A parameter is missing or not allowed.
        """
        self._purge()
        if not client_id or len(client_id) > 200:
            raise AuthorizationRequestError("invalid_request", "client_id is required")
        if not redirect_uri_allowed(redirect_uri, self._issuer):
            raise AuthorizationRequestError("invalid_request", "redirect_uri is not allowed")
        # PKCE is mandatory and only S256: "plain" would hand the verifier to whoever sees the request
        if method != "S256" or not _CHALLENGE.fullmatch(code_challenge or ""):
            raise AuthorizationRequestError("invalid_request", "PKCE with method S256 is required")
        if len(self._transactions) >= _MAX_PENDING:
            raise AuthorizationRequestError("temporarily_unavailable", "too many pending logins")
        request = AuthorizationRequest(
            transaction_id=secrets.token_urlsafe(32),
            client_id=client_id,
            redirect_uri=redirect_uri,
            code_challenge=code_challenge,
            state=state,
            nonce=nonce,
            scope=scope or "openid",
            expires_at=self._clock() + TRANSACTION_LIFETIME_SECONDS,
        )
        self._transactions[request.transaction_id] = request
        return request

    def pending(self, transaction_id: str) -> AuthorizationRequest:
        """The pending request of a transaction, without consuming it.

        Raises:
            AuthorizationRequestError: Unknown or expired transaction.
        """
        self._purge()
        request = self._transactions.get(transaction_id)
        if request is None:
            raise AuthorizationRequestError("invalid_request", "unknown or expired login")
        return request

    def complete(self, transaction_id: str, username: str) -> tuple[str, AuthorizationRequest]:
        """Consume a transaction (once) and issue a random code for it, valid for 60 seconds.

        Returns:
            The code and the request it answers.

        Raises:
            AuthorizationRequestError: Unknown, expired or already used transaction.
        """
        self._purge()
        request = self._transactions.pop(transaction_id, None)
        if request is None:
            raise AuthorizationRequestError("invalid_request", "unknown or expired login")
        code = secrets.token_urlsafe(32)
        self._codes[code] = IssuedCode(request, username, self._clock() + CODE_LIFETIME_SECONDS)
        return code, request

    def redeem(self, code: str, client_id: str, redirect_uri: str, code_verifier: str) -> IssuedCode:
        """Exchange a code: single use, unexpired, same client and redirect URI, matching PKCE verifier.

        The code is consumed by the first attempt whatever its outcome, so a failed guess burns it.

        Raises:
            AuthorizationRequestError: `invalid_grant` for any mismatch.
        """
        self._purge()
        issued = self._codes.pop(code, None)
        # single use: a replayed (or unknown, or expired) code is refused
        if issued is None:
            raise AuthorizationRequestError("invalid_grant", "invalid authorization code")
        request = issued.request
        # the code is bound to the client and the exact redirect URI it was issued for (RFC 6749, 4.1.3)
        if client_id != request.client_id or redirect_uri != request.redirect_uri:
            raise AuthorizationRequestError("invalid_grant", "invalid authorization code")
        # PKCE: the verifier must hash to the challenge (constant-time comparison)
        if not _VERIFIER.fullmatch(code_verifier or "") or not hmac.compare_digest(
            s256(code_verifier), request.code_challenge
        ):
            raise AuthorizationRequestError("invalid_grant", "invalid authorization code")
        return issued

    def _purge(self) -> None:
        now = self._clock()
        self._transactions = _unexpired(self._transactions, now)
        self._codes = _unexpired(self._codes, now)


_Expiring = TypeVar("_Expiring", AuthorizationRequest, IssuedCode)


def _unexpired(entries: dict[str, _Expiring], now: float) -> dict[str, _Expiring]:
    return {key: value for key, value in entries.items() if value.expires_at > now}
