"""A verification report (signing's JSON) told in words: a green, amber or red verdict per signature."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from vault.web.i18n import N_, gettext_

__all__ = ("SignatureVerdict", "etsi_sentence", "qualified_sentence", "verdicts")

Colour = Literal["green", "amber", "red"]


@dataclass(frozen=True)
class SignatureVerdict:
    """One signature, for a person.

    Attributes:
        colour: green (valid and trusted), amber (intact, but something cannot be confirmed), red (broken).
        headline: The verdict in one short sentence.
        signer: Who signed (the certificate's common name, else its subject), or None.
        issuer: Who vouches for the signer (the certificate's issuer), or None.
        signed_at: When (ISO 8601), or None.
        time_proven: Whether a trusted timestamp proves the time.
        time_sentence: What is known about the time.
        changes_sentence: Whether anything changed after signing.
        etsi: The ETSI EN 319 102-1 indication explained in a sentence.
        indication: The raw ETSI indication and sub-indication, for reference.
        field: The signature field.
        is_timestamp: A document timestamp rather than a person's signature.
        qualified: The qualified status under the configured EU trusted list, in words; None without a list.
    """

    colour: Colour
    headline: str
    signer: str | None
    issuer: str | None
    signed_at: str | None
    time_proven: bool
    time_sentence: str
    changes_sentence: str
    etsi: str
    indication: str
    field: str
    is_timestamp: bool
    qualified: str | None = None


def _common_name(dn: str | None) -> str | None:
    if not dn:
        return None
    for part in dn.split(", "):
        key, _, value = part.partition(": ")
        if key == "Common Name" and value:
            return value
    return dn


_COLOURS: dict[str, Colour] = {"passed": "green", "failed": "red", "indeterminate": "amber"}


def _colour(sig: dict[str, Any]) -> Colour:
    """The report's one verdict (passed, failed, cannot tell yet) as a colour; pyHanko's bottom line alone is never
    enough for green (it passes a signature whose revocation was never checked)."""
    if (verdict := sig.get("verdict")) in _COLOURS:
        return _COLOURS[verdict]
    ades = sig.get("ades") or {}
    if not sig.get("intact") or not sig.get("valid") or sig.get("revoked") or ades.get("indication") == "FAILED":
        return "red"
    return "amber"  # a report without the one verdict cannot say more


def _headline(colour: Colour, sig: dict[str, Any]) -> str:
    if colour == "green":
        return gettext_("Valid signature: the document is as it was signed, by a trusted signer.")
    if colour == "red":
        return _why_not_valid(sig)
    if not sig.get("trusted"):
        return gettext_("Intact, but the signer cannot be confirmed: the certificate is not from a trusted authority.")
    if sig.get("revocation") == "unknown":
        return gettext_("Intact, from a trusted authority, but whether the certificate was revoked is not known.")
    return gettext_("Intact, but the signature cannot be fully confirmed.")


def _why_not_valid(sig: dict[str, Any]) -> str:
    if not sig.get("intact"):
        return gettext_("Not valid: the document was changed after it was signed.")
    if sig.get("revoked") or sig.get("revocation") == "revoked":
        return gettext_("Not valid: the signer's certificate was revoked.")
    return gettext_("Not valid: the signature does not check out.")


_SUB_INDICATIONS = {
    "NO_POE": N_("there is no proof that the signature existed before its certificate expired or could be revoked."),
    "SIG_CONSTRAINTS_FAILURE": N_(
        "the signature does not meet the validation rules (for example, it has no timestamp)."
    ),
    "NO_CERTIFICATE_CHAIN_FOUND": N_("the signer's certificate does not lead to a trusted authority."),
    "OUT_OF_BOUNDS_NO_POE": N_("the certificate has expired and nothing proves the signature was made before that."),
    "OUT_OF_BOUNDS_NOT_REVOKED": N_("the certificate has expired, although it was never revoked."),
    "TRY_LATER": N_("information about revocation is not available yet; try again later."),
    "REVOCATION_OUT_OF_BOUNDS_NO_POE": N_("the certificate was revoked and nothing proves the signature came first."),
    "REVOKED_NO_POE": N_("the certificate was revoked and nothing proves the signature came first."),
    "CERTIFICATE_CHAIN_GENERAL_FAILURE": N_(
        "the chain of certificates could not be fully checked (for example, revocation information is missing)."
    ),
    "CHAIN_CONSTRAINTS_FAILURE": N_("the chain of certificates does not meet the validation rules."),
    "CRYPTO_CONSTRAINTS_FAILURE": N_("the signature uses cryptography that is no longer considered safe."),
    "CRYPTO_CONSTRAINTS_FAILURE_NO_POE": N_("the signature uses cryptography that is no longer considered safe."),
    "SIGNED_DATA_NOT_FOUND": N_("the signed content could not be found."),
    "HASH_FAILURE": N_("the document was changed after signing."),
    "SIG_CRYPTO_FAILURE": N_("the signature value does not match the document."),
    "REVOKED": N_("the signer's certificate was revoked."),
    "FORMAT_FAILURE": N_("the signature is not in a recognised format."),
    "NO_SIGNING_CERTIFICATE_FOUND": N_("the signer's certificate could not be found."),
    "EXPIRED": N_("the signer's certificate has expired."),
    "NOT_YET_VALID": N_("the signer's certificate was not yet valid when it was used."),
}


def etsi_sentence(ades: dict[str, Any] | None) -> str:
    """The ETSI EN 319 102-1 indication in a sentence."""
    if not ades:
        return gettext_("The European standard validation (ETSI EN 319 102-1) does not apply to this entry.")
    indication = ades.get("indication")
    reason = _SUB_INDICATIONS.get(ades.get("subindication") or "")
    why = (
        gettext_(reason)
        if reason
        else gettext_("the reason code is {code}.").format(code=ades.get("subindication") or "-")
    )
    if indication == "PASSED":
        return gettext_("Under the European standard (ETSI EN 319 102-1) the signature passes: it is valid.")
    if indication == "FAILED":
        return gettext_("Under the European standard (ETSI EN 319 102-1) the signature fails: {why}").format(why=why)
    return gettext_("Under the European standard (ETSI EN 319 102-1) no final answer can be given yet: {why}").format(
        why=why
    )


def _time_sentence(sig: dict[str, Any]) -> tuple[bool, str]:
    stamp = sig.get("timestamp")
    if stamp and stamp.get("trusted"):
        return True, gettext_("The time is proven by a trusted timestamp.")
    if stamp:
        return False, gettext_("A timestamp is present, but it cannot be trusted.")
    return False, gettext_("No timestamp: the time is what the signer's computer said, and is not proven.")


def _changes_sentence(sig: dict[str, Any]) -> str:
    if not sig.get("intact"):
        return gettext_("The signed content was changed: the signature no longer matches it.")
    sentences = {
        "NONE": gettext_("Nothing has changed since it was signed."),
        "LTA_UPDATES": gettext_("Only validation data was added after signing, which is normal."),
        "FORM_FILLING": gettext_("Form fields were filled in after signing, which the signer allowed."),
        "ANNOTATIONS": gettext_("Comments were added after signing."),
        "OTHER": gettext_("The document was changed after signing in ways the signature does not cover."),
    }
    return sentences.get(sig.get("modifications") or "", gettext_("It is not known whether it changed after signing."))


_CERTIFICATE_KINDS = {
    "qc-esig": N_("Qualified certificate for electronic signatures, from {service} on the EU trusted list."),
    "qc-eseal": N_("Qualified certificate for electronic seals, from {service} on the EU trusted list."),
    "qc-web": N_("Qualified certificate for website authentication, from {service} on the EU trusted list."),
}


def _qualified_part(q: dict[str, Any], timestamp: bool) -> str:
    service = q.get("service") or "-"
    if q.get("status") == "qualified" and timestamp:
        return gettext_("Qualified timestamp, from {service} on the EU trusted list.").format(service=service)
    if q.get("status") == "qualified":
        sentence = _CERTIFICATE_KINDS.get(q.get("certificate_type") or "", _CERTIFICATE_KINDS["qc-esig"])
        text = gettext_(sentence).format(service=service)
        if (q.get("qscd") or "not-declared") != "not-declared":
            text += " " + gettext_("Its key is held in a qualified signature creation device.")
        return text
    if q.get("status") == "not-qualified" and timestamp:
        return gettext_("The timestamp is not qualified according to the EU trusted list.")
    if q.get("status") == "not-qualified":
        return gettext_("The certificate is not qualified according to the EU trusted list.")
    return gettext_("The EU trusted list cannot tell whether this is qualified.")


def qualified_sentence(sig: dict[str, Any]) -> str | None:
    """The qualified status (signer, and a signature's timestamp) under the EU trusted list; None without one."""
    q = sig.get("qualification")
    if not q:
        return None
    is_timestamp = sig.get("kind") == "document_timestamp"
    parts = [_qualified_part(q, is_timestamp)]
    stamp_q = (sig.get("timestamp") or {}).get("qualification")
    if stamp_q and not is_timestamp:
        parts.append(_qualified_part(stamp_q, True))
    return " ".join(parts)


def verdicts(report: dict[str, Any]) -> list[SignatureVerdict]:
    """One verdict per signature or document timestamp of a `signing.VerificationReport.to_dict()`."""
    result = []
    for sig in report.get("signatures", []):
        colour = _colour(sig)
        proven, time_sentence = _time_sentence(sig)
        signer = sig.get("signer") or {}
        ades = sig.get("ades")
        indication = " / ".join(v for v in ((ades or {}).get("indication"), (ades or {}).get("subindication")) if v)
        result.append(
            SignatureVerdict(
                colour=colour,
                headline=_headline(colour, sig),
                signer=_common_name(signer.get("subject")),
                issuer=_common_name(signer.get("issuer")),
                signed_at=sig.get("signing_time"),
                time_proven=proven,
                time_sentence=time_sentence,
                changes_sentence=_changes_sentence(sig),
                etsi=etsi_sentence(ades),
                indication=indication,
                field=str(sig.get("field", "")),
                is_timestamp=sig.get("kind") == "document_timestamp",
                qualified=qualified_sentence(sig),
            )
        )
    return result
