"""Who is calling: the authenticated principal as the service sees it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ("ROLES", "Caller")

ROLES = ("citizen", "agency", "auditor", "admin")


@dataclass(frozen=True)
class Caller:
    """The authenticated caller, built from a validated access token.

    Attributes:
        subject: the token's `sub`.
        issuer: the token's `iss`.
        roles: the caller's known roles (unknown role names are dropped).
        agency: the agency an officer acts for, from the configured claim.
        client_id: the OAuth client that obtained the token.
        name: the person's name, for display and for certificates that name their signer.
        handle: the identity provider's handle (username or e-mail), how others find the person.
        acr: the assurance level of the sign-in, as the identity provider reports it.
    """

    subject: str
    issuer: str
    roles: frozenset[str]
    agency: str | None = None
    client_id: str | None = None
    name: str | None = None
    handle: str | None = None
    acr: str | None = None

    @property
    def primary_role(self) -> str | None:
        return next((role for role in ROLES if role in self.roles), None)

    def has_role(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)
