"""Whose name a citizen's certificate carries: the `name` claim, else the provider's handle, else the subject;
the SAN is always `<issuer>#<subject>`, and the assurance level travels with it."""

from __future__ import annotations

import pytest

from vault.core.errors import UnprocessableContent
from vault.core.principal import Caller
from vault.signatures.service import verified_identity

ISSUER = "https://id.example.gov/realms/citizens"


@pytest.mark.parametrize(
    ("name", "handle", "expected"),
    [("Alice Example", "alice@example.org", "Alice Example"), (None, "alice@example.org", "alice@example.org"),
     ("  ", None, "sub-123"), ("A" * 80, None, "A" * 64)],
    ids=["name", "handle", "subject", "truncated"],
)  # fmt: skip
def test_the_common_name_comes_from_the_best_claim(name: str | None, handle: str | None, expected: str) -> None:
    caller = Caller("sub-123", ISSUER, frozenset({"citizen"}), name=name, handle=handle, acr="eidas-high")
    identity = verified_identity(caller)
    assert (identity.name, identity.uri, identity.acr) == (expected, f"{ISSUER}#sub-123", "eidas-high")


def test_a_name_with_control_characters_is_refused() -> None:
    with pytest.raises(UnprocessableContent):
        verified_identity(Caller("sub-123", ISSUER, frozenset({"citizen"}), name="Alice\nExample"))
