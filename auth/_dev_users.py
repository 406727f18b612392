"""The demo users of the development identity provider."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ("DEMO_USERS", "DemoUser")

_NAMESPACE = uuid.UUID("6f1c2b8e-3d0a-4c55-9a57-0d5b1f0e7c21")


@dataclass(frozen=True)
class DemoUser:
    """A user the development provider can sign in as, without a password.

    Attributes:
        subject: Stable `sub` (the same on every machine, so demo data survives restarts).
        name: Display name.
        roles: Roles put into the `roles` claim.
        agency: The agency of an agency officer, else None.
    """

    subject: str
    name: str
    roles: tuple[str, ...]
    agency: str | None = None


def _user(username: str, name: str, roles: tuple[str, ...], agency: str | None = None) -> DemoUser:
    return DemoUser(str(uuid.uuid5(_NAMESPACE, username)), name, roles, agency)


DEMO_USERS: MappingProxyType[str, DemoUser] = MappingProxyType(
    {
        "alice": _user("alice", "Alice Citizen", ("citizen",)),
        "bob": _user("bob", "Bob Citizen", ("citizen",)),
        "olga": _user("olga", "Olga Officer (tax office)", ("agency",), "tax-office"),
        "oscar": _user("oscar", "Oscar Officer (city registry)", ("agency",), "city-registry"),
        "audrey": _user("audrey", "Audrey Auditor", ("auditor",)),
        "admin": _user("admin", "Ada Admin", ("admin",)),
    }
)
"""Username -> demo user. Read-only."""
