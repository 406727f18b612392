"""CSRF tokens for the portal's forms: an HMAC of the browser's session cookie under a service secret.

The token is bound to the session cookie (anonymous or signed in), so it changes when the session id rotates at
sign-in, and a cross-site page can neither read nor compute it. The secret is stored wrapped under the KEK and
shared by every instance.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from vault.accounts.keys import KeyService
from vault.core.database import Database

__all__ = ("CSRF_FIELD", "CsrfTokens")

CSRF_FIELD = "csrf_token"
_SECRET_NAME = "web-csrf-hmac"  # noqa: S105 - the name the secret is stored under, not a secret


class CsrfTokens:
    """Issue and check CSRF tokens.

    Args:
        db: The database (the secret's row).
        keys: The key service that wraps service secrets.
    """

    def __init__(self, db: Database, keys: KeyService) -> None:
        self._db = db
        self._keys = keys
        self._secret: bytes | None = None

    async def _key(self) -> bytes:
        if self._secret is None:
            async with self._db.transaction() as session:
                self._secret = await self._keys.service_secret(session, _SECRET_NAME, lambda: secrets.token_bytes(32))
        return self._secret

    async def token_for(self, session_token: str) -> str:
        """The CSRF token of the session whose cookie is `session_token`."""
        mac = hmac.new(await self._key(), b"csrf\x00" + session_token.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    async def check(self, session_token: str | None, presented: str | None) -> bool:
        """Whether `presented` is the CSRF token of this session (constant-time)."""
        if not session_token or not presented:
            return False
        return hmac.compare_digest((await self.token_for(session_token)).encode(), presented.encode())
