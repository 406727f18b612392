"""ETSI TS 119 102-2 XML validation reports that never fail on an odd signature."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pyhanko.sign.ades.report import AdESIndeterminate
from pyhanko.sign.validation.ades import AdESBasicValidationResult, ValidationObjectSet
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.policy_decl import SignatureValidationSpec
from pyhanko.sign.validation.report.tools import generate_report

from ._ades import run_ades

__all__ = ("etsi_report",)

logger = logging.getLogger(__name__)


async def etsi_report(
    sig: EmbeddedPdfSignature,
    all_sigs: Sequence[EmbeddedPdfSignature],
    spec: SignatureValidationSpec,
    now: datetime,
) -> str:
    """The XML report for one signature, validated with the process its structure calls for.

    When pyHanko cannot validate the signature (unsupported algorithm, encapsulated content, no signed
    attributes), the report carries INDETERMINATE/GENERIC with the reason instead of an error.
    """
    try:
        # AdES validation and the report generator read the integrity info; neither computes it.
        sig.compute_integrity_info()  # type: ignore[no-untyped-call]
        result = (await run_ades(sig, all_sigs, spec, now)).result
    except Exception as exc:  # an odd signature pyHanko's AdES code cannot process
        logger.info("ETSI validation impossible, reporting INDETERMINATE: %s", type(exc).__name__)
        result = _indeterminate(f"the signature could not be validated ({type(exc).__name__})")
    try:
        return str(generate_report(sig, result))
    except Exception as exc:  # the generator reads parts of the signature an odd one lacks
        logger.info("ETSI report generation failed, retrying without validation details: %s", type(exc).__name__)
        return str(generate_report(sig, _indeterminate(f"validation details unavailable ({type(exc).__name__})")))


def _indeterminate(message: str) -> AdESBasicValidationResult[Any]:
    return AdESBasicValidationResult(
        ades_subindic=AdESIndeterminate.GENERIC,
        api_status=None,
        failure_msg=message,
        validation_objects=ValidationObjectSet(()),
    )
