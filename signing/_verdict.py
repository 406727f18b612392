"""The one verdict a person can read: passed, failed, or cannot tell yet, and why.

It combines pyHanko's classic checks (integrity, modifications after signing) with the ETSI EN 319 102-1
result (revocation required, proof of existence) and the revocation tri-state. Unknown revocation is never a
pass; a signature whose certificate expired before anything proves it existed fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ._report import AdesVerdict, Revocation, Verdict

__all__ = ("NO_CHAIN", "Facts", "decide", "revocation_state")

_REVOKED_SUBINDICATIONS = frozenset({"REVOKED", "REVOKED_NO_POE", "REVOKED_CA_NO_POE"})
NO_CHAIN = frozenset({"NO_CERTIFICATE_CHAIN_FOUND", "NO_SIGNING_CERTIFICATE_FOUND"})


@dataclass(frozen=True)
class Facts:
    """What the verdict is decided from (one signature or document timestamp)."""

    intact: bool
    valid: bool
    classic_trusted: bool
    classic_revoked: bool
    modifications_allowed: bool
    revocation: Revocation
    ades: AdesVerdict | None
    cert_not_after: datetime | None
    proof_of_existence: datetime | None
    chain_found: bool
    validation_time: datetime


def revocation_state(classic_revoked: bool, ades: AdesVerdict | None, required_check_passed: bool) -> Revocation:
    """``revoked`` if any check found a revocation; ``good`` only when a check that required revocation data
    for the whole chain passed; otherwise ``unknown``."""
    if classic_revoked or (ades is not None and ades.subindication in _REVOKED_SUBINDICATIONS):
        return "revoked"
    return "good" if required_check_passed else "unknown"


def _failure(f: Facts) -> str | None:  # noqa: PLR0911 - one early return per failure, in order of severity
    if not f.intact:
        return "the signed content was changed after signing"
    if not f.valid:
        return "the cryptographic signature is invalid"
    if f.revocation == "revoked":
        return "the signing certificate (or one of its issuers) is revoked"
    if not f.modifications_allowed:
        return "the document was changed after signing in a way the signature does not allow"
    if f.cert_not_after is not None and (f.proof_of_existence or f.validation_time) > f.cert_not_after:
        when = f.cert_not_after.date().isoformat()
        return f"the signing certificate expired on {when}, and nothing proves the signature was made before then"
    if not f.chain_found:
        return "the signing certificate does not chain to a trusted root"
    if f.ades is not None and f.ades.indication == "FAILED":
        return f"ETSI validation failed ({f.ades.subindication})"
    return None


def decide(f: Facts) -> tuple[Verdict, str]:
    """The verdict and its reason."""
    failure = _failure(f)
    if failure is not None:
        return "failed", failure
    if f.revocation == "unknown":
        return "indeterminate", (
            "cannot tell yet: the revocation status of the certificates could not be established "
            "(no embedded revocation data, online checking off, or the responder unreachable)"
        )
    if f.ades is not None and f.ades.indication != "PASSED":
        detail = f": {f.ades.failure_message}" if f.ades.failure_message else ""
        return "indeterminate", f"cannot tell yet: ETSI {f.ades.indication}/{f.ades.subindication}{detail}"
    if f.ades is None and not f.classic_trusted:
        return "failed", "the certificate is not trusted"
    return "passed", "intact, signed by a trusted certificate, revocation checked"
