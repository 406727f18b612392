"""The verify and document pages tell the report's one verdict: pyHanko's bottom line alone never makes green."""

from __future__ import annotations

from typing import Any

import pytest

from vault.signatures.pages_verdicts import verdicts

INTACT: dict[str, Any] = {
    "kind": "signature",
    "field": "Signature1",
    "intact": True,
    "valid": True,
    "trusted": True,
    "revoked": False,
    "bottom_line": True,
    "modifications": "NONE",
    "signer": {"subject": "Common Name: Alice Citizen", "issuer": "Common Name: Vault Identity CA"},
}


def _one(**sig: Any) -> Any:
    (verdict,) = verdicts({"signatures": [{**INTACT, **sig}]})
    return verdict


@pytest.mark.parametrize(("verdict", "colour"), [("passed", "green"), ("failed", "red"), ("indeterminate", "amber")])
def test_the_colour_is_the_reports_one_verdict(verdict: str, colour: str) -> None:
    assert _one(verdict=verdict).colour == colour


def test_a_passing_bottom_line_with_unknown_revocation_is_amber_and_says_why() -> None:
    told = _one(
        verdict="indeterminate",
        revocation="unknown",
        ades={"indication": "INDETERMINATE", "subindication": "TRY_LATER"},
    )
    assert told.colour == "amber"
    assert "revoked is not known" in told.headline
    assert "try again later" in told.etsi


def test_a_revoked_signer_is_red_and_named_revoked() -> None:
    told = _one(verdict="failed", revocation="revoked", bottom_line=False)
    assert (told.colour, told.headline) == ("red", "Not valid: the signer's certificate was revoked.")
    assert told.signer == "Alice Citizen"


def test_an_old_report_without_the_verdict_is_never_green() -> None:
    assert _one().colour == "amber"
    assert _one(intact=False).colour == "red"
