"""ETSI TS 119 102-2 XML validation reports that never fail on an odd signature.

pyHanko's generator cannot describe some signatures (an Ed448 signature with SHAKE256, a CMS object with
encapsulated content, a signature without signed attributes). Those get a minimal report of our own: the
signature identifier, the validation time and the indication pyHanko's validation gave (INDETERMINATE/GENERIC
when it gave none), with the reason.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime

from pyhanko.sign.validation.ades import AdESBasicValidationResult
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.policy_decl import SignatureValidationSpec
from pyhanko.sign.validation.report.tools import generate_report

from ._ades import run_ades

__all__ = ("etsi_report",)

logger = logging.getLogger(__name__)

_VR = "http://uri.etsi.org/19102/v1.2.1#"
_MAIN = "urn:etsi:019102:mainindication:"
_MAIN_NAMES = {"PASSED": "total-passed", "FAILED": "total-failed", "INDETERMINATE": "indeterminate"}


async def etsi_report(
    sig: EmbeddedPdfSignature,
    all_sigs: Sequence[EmbeddedPdfSignature],
    spec: SignatureValidationSpec,
    now: datetime,
) -> str:
    """The XML report for one signature, validated with the process its structure calls for."""
    result: AdESBasicValidationResult | None = None  # type: ignore[type-arg]
    reason = ""
    try:
        # AdES validation and the report generator read the integrity info; neither computes it.
        sig.compute_integrity_info()  # type: ignore[no-untyped-call]
        result = (await run_ades(sig, all_sigs, spec, now)).result
        return str(generate_report(sig, result))
    except Exception as exc:  # an odd signature pyHanko's AdES code or its report generator cannot process
        logger.info("ETSI report for an odd signature built without pyHanko's generator: %s", type(exc).__name__)
        reason = (
            f"pyHanko could not {'describe' if result is not None else 'validate'} this signature"
            f" ({type(exc).__name__})"
        )
    if result is not None:
        sub = result.ades_subindic
        return minimal_report(_field(sig), now, sub.status.name, sub.standard_name, reason)
    return minimal_report(_field(sig), now, "INDETERMINATE", "GENERIC", reason)


def minimal_report(field: str, when: datetime, indication: str, subindication: str | None, reason: str) -> str:
    """A TS 119 102-2 ValidationReport with one SignatureValidationReport."""
    ET.register_namespace("vr", _VR)
    root = ET.Element(f"{{{_VR}}}ValidationReport")
    report = ET.SubElement(root, f"{{{_VR}}}SignatureValidationReport")
    ident = ET.SubElement(report, f"{{{_VR}}}SignatureIdentifier")
    ET.SubElement(ident, f"{{{_VR}}}HashOnly").text = "false"
    ET.SubElement(ident, f"{{{_VR}}}DocHashOnly").text = "false"
    ET.SubElement(ident, f"{{{_VR}}}DAIdentifier").text = field
    time_info = ET.SubElement(report, f"{{{_VR}}}ValidationTimeInfo")
    ET.SubElement(time_info, f"{{{_VR}}}ValidationTime").text = when.isoformat()
    status = ET.SubElement(report, f"{{{_VR}}}SignatureValidationStatus")
    ET.SubElement(status, f"{{{_VR}}}MainIndication").text = _MAIN + _MAIN_NAMES[indication]
    if subindication and indication != "PASSED":
        ET.SubElement(status, f"{{{_VR}}}SubIndication").text = f"urn:etsi:019102:subindication:{subindication}"
    root.append(ET.Comment(f" {reason.replace('--', '-')} "))
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def _field(sig: EmbeddedPdfSignature) -> str:
    try:
        return str(sig.field_name)
    except Exception:  # a field without a usable /T
        return ""
