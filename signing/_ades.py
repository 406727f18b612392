"""ETSI EN 319 102-1 validation with the process the signature's structure calls for.

pyHanko's long-term (LTA) process demands a signature timestamp even where the standard does not, and runs
past-signature validation after a PASSED result (which can replace it with NO_POE). So the process is chosen
from the structure: no signature timestamp → basic validation (§5.3); a signature timestamp and no later
document timestamp → validation with time (§5.5); otherwise long-term validation (§5.6.3). Revocation
information is required for every certificate (not soft-fail).

A signature with a signature timestamp whose document embeds revocation data (B-LT) is validated as of the
timestamp's time (its proof of existence), so it does not degrade when the embedded OCSP responses pass their
``nextUpdate``; B-LTA gets the same from pyHanko's LTA process through its document timestamps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from asn1crypto import cms
from pyhanko.sign.validation import generic_cms
from pyhanko.sign.validation.ades import (
    AdESBasicValidationResult,
    _adobe_revinfo_archival_to_local_knowledge,  # pyHanko's own DSS/archival readers (private, stable since 0.21)
    _dss_to_local_knowledge,
    ades_basic_validation,
    ades_lta_validation,
    ades_with_time_validation,
)
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.policy_decl import LocalKnowledge, PdfSignatureValidationSpec, SignatureValidationSpec
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo

__all__ = ("AdesProcess", "AdesRun", "choose_process", "run_ades", "signature_timestamp_time")

AdesProcess = Literal["basic", "with_time", "long_term"]

PROCESS_NAMES: dict[AdesProcess, str] = {
    "basic": "basic signature validation (EN 319 102-1 §5.3)",
    "with_time": "validation of signatures with time (EN 319 102-1 §5.5)",
    "long_term": "long-term validation (EN 319 102-1 §5.6.3)",
}


@dataclasses.dataclass(frozen=True)
class AdesRun:
    """One ETSI validation: pyHanko's result, the process used and the time it was validated as of."""

    result: AdESBasicValidationResult[Any]
    process: AdesProcess
    validation_time: datetime
    at_proof_of_existence: bool


def signature_timestamp_time(sig: EmbeddedPdfSignature) -> datetime | None:
    """The time claimed by the first signature timestamp (unverified), or ``None`` without one."""
    for token in generic_cms.extract_tst_data_iter(sig.signer_info, signed=False):
        tst_info = token["encap_content_info"]["content"].parsed
        when: datetime = tst_info["gen_time"].native
        return when
    return None


def _later_document_timestamp(sig: EmbeddedPdfSignature, all_sigs: Sequence[EmbeddedPdfSignature]) -> bool:
    return any(
        other.sig_object_type == "/DocTimeStamp" and other.signed_revision > sig.signed_revision for other in all_sigs
    )


def choose_process(sig: EmbeddedPdfSignature, all_sigs: Sequence[EmbeddedPdfSignature]) -> AdesProcess:
    """The EN 319 102-1 process the signature's structure calls for."""
    if signature_timestamp_time(sig) is None:
        return "basic"
    return "long_term" if _later_document_timestamp(sig, all_sigs) else "with_time"


def embedded_knowledge(sig: EmbeddedPdfSignature) -> LocalKnowledge:
    """Certificates and revocation data embedded in the document (DSS) and in the signature (Adobe archival)."""
    dss = _dss_to_local_knowledge(sig.reader)
    archival = _adobe_revinfo_archival_to_local_knowledge(sig)
    return LocalKnowledge(
        known_ocsps=list(dss.known_ocsps) + list(archival.known_ocsps),
        known_crls=list(dss.known_crls) + list(archival.known_crls),
        known_certs=list(dss.known_certs),
    )


async def run_ades(
    sig: EmbeddedPdfSignature,
    all_sigs: Sequence[EmbeddedPdfSignature],
    spec: SignatureValidationSpec,
    now: datetime,
) -> AdesRun:
    """Run the process chosen by :func:`choose_process` (integrity info must have been computed)."""
    process = choose_process(sig, all_sigs)
    if process == "long_term":
        timing = ValidationTimingInfo(validation_time=now, best_signature_time=now, point_in_time_validation=False)
        lta = await ades_lta_validation(sig, PdfSignatureValidationSpec(spec), timing_info=timing)
        return AdesRun(lta, process, now, at_proof_of_existence=False)
    knowledge = embedded_knowledge(sig)
    spec = dataclasses.replace(spec, local_knowledge=knowledge)
    signed_data: cms.SignedData = sig.signed_data
    if process == "basic":
        timing = ValidationTimingInfo(validation_time=now, best_signature_time=now, point_in_time_validation=False)
        basic = await ades_basic_validation(signed_data, spec, timing_info=timing, raw_digest=sig.compute_digest())
        return AdesRun(basic, process, now, at_proof_of_existence=False)
    ts_time = signature_timestamp_time(sig)
    assert ts_time is not None  # "with_time" is only chosen with a signature timestamp
    embedded_revinfo = bool(knowledge.known_ocsps or knowledge.known_crls)
    when = min(ts_time, now) if embedded_revinfo else now
    timing = ValidationTimingInfo(
        validation_time=when, best_signature_time=when, point_in_time_validation=embedded_revinfo
    )
    with_time = await ades_with_time_validation(signed_data, spec, timing_info=timing, raw_digest=sig.compute_digest())
    return AdesRun(with_time, process, when, at_proof_of_existence=embedded_revinfo)
