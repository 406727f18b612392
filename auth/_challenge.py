"""The RFC 6750 `WWW-Authenticate: Bearer` challenge for a refused or missing bearer token."""

from __future__ import annotations

import re

from auth._errors import InvalidToken

__all__ = ("bearer_challenge",)

# RFC 6750, 3: realm is a quoted-string; error_description is restricted to %x20-21 / %x23-5B / %x5D-7E
_QUOTABLE = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")


def bearer_challenge(realm: str, refused: InvalidToken | None = None) -> str:
    """The `WWW-Authenticate` value for a 401: the realm, and for a presented but refused token why.

    No token material ever enters it: the description is one of the fixed sentences of
    `TOKEN_PROBLEM_DESCRIPTIONS`, chosen by the failed check.

    Args:
        realm: The protection space, e.g. `citizen-vault`.
        refused: The validation error, or None when no token was presented (RFC 6750, 3.1: no error code then).

    Returns:
        `Bearer realm="..."`, plus `error="invalid_token", error_description="..."` for a refused token.

    Raises:
        ValueError: The realm holds characters a quoted string cannot carry.
    """
    if not realm or not _QUOTABLE.fullmatch(realm):
        raise ValueError("the realm must be printable ASCII without quotes or backslashes")
    challenge = f'Bearer realm="{realm}"'
    if refused is None:
        return challenge
    description = refused.description
    if not _QUOTABLE.fullmatch(description):  # the fixed sentences always pass; a subclass might not
        description = "the access token is not valid"
    return f'{challenge}, error="invalid_token", error_description="{description}"'
