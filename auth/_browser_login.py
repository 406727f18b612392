"""Browser login: an OpenID Connect relying party built on authlib (authorization code + PKCE S256).

authlib does the protocol: discovery, the authorization URL (state, nonce, PKCE verifier and challenge), the
code exchange with client authentication, and the ID token's signature and claims (issuer, audience, expiry,
nonce, `at_hash`). This module only keeps the pieces together and turns every failure into an `AuthError`.
The caller stores the returned `LoginStart` server-side and hands it back once, with the callback's query.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from authlib.integrations.base_client import OAuthError
from authlib.integrations.base_client.async_app import AsyncOAuth2Mixin
from authlib.integrations.base_client.async_openid import AsyncOpenIDMixin
from authlib.integrations.base_client.sync_app import BaseApp
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc.errors import JoseError

from auth._errors import AuthError, ProviderUnavailable

__all__ = ("BrowserLogin", "LoginFailed", "LoginResult", "LoginStart")

_LEEWAY_SECONDS = 60


class LoginFailed(AuthError):
    """The login could not be completed: the provider said no, or its answer failed a check (HTTP 400).

    Attributes:
        reason: Which step failed (`state`, `issuer`, `provider error`, `token`, `id token`), for logs only.
    """

    default_detail = "the sign-in could not be completed; please try again"

    def __init__(self, reason: str) -> None:
        super().__init__(self.default_detail)
        self.reason = reason


@dataclass(frozen=True)
class LoginStart:
    """One login transaction: where to send the browser, and the secrets to keep server-side until the callback.

    Attributes:
        url: The provider's authorization URL with every parameter.
        state: Random value bound to this transaction (CSRF protection of the callback).
        nonce: Random value the ID token must carry (replay protection).
        code_verifier: The PKCE secret; only its S256 challenge travelled in the URL.
    """

    url: str
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class LoginResult:
    """A completed login.

    Attributes:
        claims: The validated ID token claims (`sub`, `iss`, `aud`, `exp`, `nonce`, names, ...).
        id_token: The raw ID token, kept only as the `id_token_hint` of a later logout.
        access_token: The access token from the same exchange, or None.
    """

    claims: Mapping[str, Any]
    id_token: str
    access_token: str | None = field(default=None, repr=False)

    @property
    def subject(self) -> str:
        """The ID token's `sub`."""
        return str(self.claims["sub"])

    @property
    def display_name(self) -> str:
        """A name to greet the user with: `name`, else `preferred_username`, else the subject."""
        return str(self.claims.get("name") or self.claims.get("preferred_username") or self.claims["sub"])


class _OpenIdClient(AsyncOAuth2Mixin, AsyncOpenIDMixin, BaseApp):  # type: ignore[misc]
    """authlib's framework-neutral async OpenID client over httpx."""

    client_cls = AsyncOAuth2Client


class BrowserLogin:
    """The relying party of one OpenID provider.

    Args:
        issuer: The provider's issuer; discovery is `{issuer}/.well-known/openid-configuration`.
        client_id: This service's client at the provider.
        client_secret: The client secret (confidential client, `client_secret_basic`), or None for a public
            client that relies on PKCE alone.
        redirect_uri: This service's callback URL, registered at the provider.
        scope: The scopes asked for; must contain `openid`.
        transport: An httpx2 transport (tests and the in-process development provider), or None for the network.
        timeout: Seconds for each request to the provider.
    """

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str | None,
        *,
        redirect_uri: str,
        scope: str = "openid profile",
        transport: Any = None,
        timeout: float = 5.0,
    ) -> None:
        if "openid" not in scope.split():
            raise ValueError("an OpenID Connect login needs the openid scope")
        self.issuer = issuer.rstrip("/")
        self.redirect_uri = redirect_uri
        client_kwargs: dict[str, Any] = {
            "scope": scope,
            "code_challenge_method": "S256",  # PKCE, always
            "token_endpoint_auth_method": "client_secret_basic" if client_secret else "none",
            "timeout": timeout,
        }
        if transport is not None:
            client_kwargs["transport"] = transport
        self._client = _OpenIdClient(
            None,
            client_id=client_id,
            client_secret=client_secret,
            server_metadata_url=f"{self.issuer}/.well-known/openid-configuration",
            client_kwargs=client_kwargs,
        )

    async def _metadata(self) -> dict[str, Any]:
        try:
            metadata: dict[str, Any] = await self._client.load_server_metadata()
        except Exception as exc:  # httpx2 transport errors, bad JSON, HTTP errors: the provider is unusable
            raise ProviderUnavailable() from exc
        # OpenID Connect Discovery 1.0, 4.3: the document must name the issuer we asked
        if metadata.get("issuer", "").rstrip("/") != self.issuer:
            raise ProviderUnavailable("the identity provider's discovery document names another issuer")
        return metadata

    async def begin(self, **extra: str) -> LoginStart:
        """Open a login transaction: fresh `state`, `nonce` and PKCE verifier, and the authorization URL.

        Args:
            extra: More authorization parameters (for example `ui_locales`, `prompt`).

        Raises:
            ProviderUnavailable: Discovery failed.
        """
        await self._metadata()
        started = await self._client.create_authorization_url(self.redirect_uri, **extra)
        return LoginStart(
            url=started["url"],
            state=started["state"],
            nonce=started["nonce"],
            code_verifier=started["code_verifier"],
        )

    async def complete(self, started: LoginStart, callback: Mapping[str, str]) -> LoginResult:
        """Finish the login from the callback's query parameters.

        Args:
            started: The transaction `begin` returned (from server-side storage, used once).
            callback: The query parameters the provider sent the browser back with.

        Raises:
            LoginFailed: The provider refused, `state` or `iss` do not match, the code exchange failed, or the
                ID token is invalid.
            ProviderUnavailable: The provider could not be reached.
        """
        # the callback must answer the transaction this browser started (RFC 6749, 10.12)
        if not hmac.compare_digest(callback.get("state", "").encode(), started.state.encode()):
            raise LoginFailed("state")
        if "error" in callback:
            raise LoginFailed("provider error")
        # RFC 9207: when the provider names itself, it must be the provider we asked (mix-up defence)
        if "iss" in callback and callback["iss"].rstrip("/") != self.issuer:
            raise LoginFailed("issuer")
        code = callback.get("code", "")
        if not code:
            raise LoginFailed("provider error")
        await self._metadata()
        try:
            token = await self._client.fetch_access_token(
                redirect_uri=self.redirect_uri, code=code, code_verifier=started.code_verifier
            )
        except OAuthError as exc:
            raise LoginFailed("token") from exc
        except Exception as exc:  # transport failures
            raise ProviderUnavailable() from exc
        if not token.get("id_token"):
            raise LoginFailed("id token")
        try:
            claims = await self._client.parse_id_token(
                token,
                nonce=started.nonce,  # the ID token must carry the nonce of this transaction
                claims_options={
                    "iss": {"essential": True, "value": self.issuer},  # issued by our provider
                    "sub": {"essential": True},  # names a subject
                    "aud": {"essential": True},  # for us (authlib checks client_id is in aud)
                    "exp": {"essential": True},  # and not expired (leeway below)
                },
                leeway=_LEEWAY_SECONDS,
            )
        except (JoseError, ValueError, KeyError) as exc:
            raise LoginFailed("id token") from exc
        except Exception as exc:  # JWKS fetch failures
            raise ProviderUnavailable() from exc
        return LoginResult(claims=dict(claims), id_token=token["id_token"], access_token=token.get("access_token"))

    async def logout_url(self, id_token_hint: str | None, post_logout_redirect_uri: str) -> str | None:
        """The provider's RP-initiated logout URL, or None when the provider does not offer one.

        Raises:
            ProviderUnavailable: Discovery failed.
        """
        metadata = await self._metadata()
        if not metadata.get("end_session_endpoint"):
            return None
        logout = await self._client.create_logout_url(
            post_logout_redirect_uri=post_logout_redirect_uri,
            id_token_hint=id_token_hint,
            client_id=self._client.client_id,
        )
        return str(logout["url"])
