"""The qualified status of signers and timestamps under a configured trusted list, added to report entries.

Signers: pyHanko's ``QualificationAssessor`` on the validation path (the listed CA/QC service on the path, its
status period at the assessed time, its qualifiers applied to the certificate, and the certificate's own QC
statements). Timestamps: qualified when a TSA/QTST service granted at the timestamp's time lists the
timestamp authority's certificate (or an authority on its path). pyHanko's assessor would instead ask the TSA's
certificate for a QcCompliance statement, which TSA certificates do not carry (EN 319 422 does not ask for it);
eIDAS Art. 42 ties a qualified timestamp to the qualified service that issued it.
"""

from __future__ import annotations

import logging
from datetime import datetime

import msgspec
from asn1crypto import x509
from pyhanko.sign.validation.qualified.assess import QualificationAssessor
from pyhanko.sign.validation.qualified.q_status import QcPrivateKeyManagementType, QualificationResult
from pyhanko.sign.validation.qualified.tsp import CA_QC_URI, QTST_URI, QcCertType, QualifiedServiceInformation
from pyhanko.sign.validation.status import DocumentTimestampStatus, PdfSignatureStatus, TimestampSignatureStatus
from pyhanko_certvalidator.authority import Authority, AuthorityWithCert
from pyhanko_certvalidator.path import ValidationPath

from ._report import Qualification, QualifiedStatus, SignatureReport
from ._trusted_list import TrustedList

__all__ = ("assess_signer", "assess_timestamp", "qualify_signature", "qualify_timestamp")

logger = logging.getLogger(__name__)

_SERVICE_TYPES = {CA_QC_URI: "CA/QC", QTST_URI: "TSA/QTST"}
_CERT_TYPES = {QcCertType.QC_ESIGN: "qc-esig", QcCertType.QC_ESEAL: "qc-eseal", QcCertType.QC_WEB: "qc-web"}
_QSCD = {
    QcPrivateKeyManagementType.QSCD: "qscd",
    QcPrivateKeyManagementType.QSCD_DELEGATED: "qscd-managed-on-behalf",
    QcPrivateKeyManagementType.QSCD_BY_POLICY: "qscd-by-policy",
    QcPrivateKeyManagementType.UNKNOWN: "not-declared",
}


def assessment_moment(proven: datetime | None, now: datetime) -> datetime:
    """The time a signer's status is assessed at: the proven signing time when there is one, else now."""
    return proven if proven is not None and proven <= now else now


def _result(
    tl: TrustedList,
    moment: datetime,
    status: QualifiedStatus,
    reason: str,
    sd: QualifiedServiceInformation | None = None,
    qualified: QualificationResult | None = None,
) -> Qualification:
    return Qualification(
        status=status,
        reason=reason,
        service=sd.base_info.service_name if sd is not None else None,
        service_type=_SERVICE_TYPES.get(sd.base_info.service_type) if sd is not None else None,
        certificate_type=_CERT_TYPES.get(qualified.status.qc_type) if qualified is not None else None,
        qscd=_QSCD[qualified.status.qc_key_security] if qualified is not None else None,
        assessed_at=moment,
        list_signature_checked=tl.signature_checked,
        list_next_update=tl.next_update,
    )


def _out_of_date(q: Qualification, tl: TrustedList, now: datetime) -> Qualification:
    """An out-of-date list cannot confirm anything: a newer one may have withdrawn or added the service."""
    if tl.next_update is None or now <= tl.next_update:
        return q
    why = f"the trusted list is out of date (its next update was due {tl.next_update.isoformat()}); it said: "
    return msgspec.structs.replace(q, status="unknown", reason=why + q.reason)


def _not_granted_then(tl: TrustedList, authorities: list[Authority], moment: datetime, kind: str) -> str:
    listed = [sd for a in authorities for sd in tl.registry.applicable_service_definitions(a, None)]
    if listed:
        return f"the listed {kind} service {listed[0].base_info.service_name!r} was not granted at that time"
    return f"no {kind} service on the trusted list covers it"


def assess_signer(
    tl: TrustedList, cert: x509.Certificate | None, path: ValidationPath | None, moment: datetime
) -> Qualification:
    """The qualified status of a signer's certificate, given the validation path the verifier found."""
    if cert is None:
        return _result(tl, moment, "unknown", "the signer's certificate is unreadable")
    if path is None:
        why = "the certificate does not chain to a trust anchor, so no listed qualified CA issued it"
        return _result(tl, moment, "not-qualified", why)
    try:
        result: QualificationResult = QualificationAssessor(tl.registry).check_entity_cert_qualified(path, moment)
    except Exception as exc:  # pyHanko refuses some QC statements (several QcTypes): say we cannot tell
        logger.info("qualification of %s could not be assessed: %s", cert.subject.human_friendly, exc)
        return _result(tl, moment, "unknown", "pyHanko cannot assess this certificate's QC statements")
    sd = result.service_definition
    if result.status.qualified and sd is not None:
        why = "a qualified CA on the trusted list, granted at that time, issued it as a qualified certificate"
        return _result(tl, moment, "qualified", why, sd, result)
    if sd is not None:
        why = f"the listed service {sd.base_info.service_name!r} does not qualify this certificate"
    else:
        why = _not_granted_then(tl, list(path.iter_authorities()), moment, "qualified CA")
    return _result(tl, moment, "not-qualified", why)


def assess_timestamp(tl: TrustedList, ts: TimestampSignatureStatus | DocumentTimestampStatus) -> Qualification:
    """The qualified status of a timestamp (QTST) at its own time."""
    moment = ts.timestamp
    if not (ts.intact and ts.valid and ts.trusted):
        return _result(tl, moment, "not-qualified", "the timestamp is not valid and trusted")
    authorities: list[Authority] = [AuthorityWithCert(ts.signing_cert)]
    if ts.validation_path is not None:
        authorities += list(ts.validation_path.iter_authorities())
    for authority in authorities:
        for sd in tl.registry.applicable_service_definitions(authority, moment):
            if sd.base_info.service_type == QTST_URI:
                why = "a qualified timestamping service on the trusted list, granted at that time, issued it"
                return _result(tl, moment, "qualified", why, sd)
    return _result(tl, moment, "not-qualified", _not_granted_then(tl, authorities, moment, "qualified timestamping"))


def qualify_signature(
    report: SignatureReport, tl: TrustedList, status: PdfSignatureStatus, now: datetime
) -> SignatureReport:
    """The report with the signer's and its signature timestamp's qualified status."""
    ts = status.timestamp_validity
    proven = ts.timestamp if ts is not None and ts.intact and ts.valid and ts.trusted else None
    signer = _out_of_date(
        assess_signer(tl, _cert(status), status.validation_path, assessment_moment(proven, now)), tl, now
    )
    timestamp = report.timestamp
    if timestamp is not None and ts is not None:
        timestamp = msgspec.structs.replace(timestamp, qualification=_out_of_date(assess_timestamp(tl, ts), tl, now))
    return msgspec.structs.replace(report, qualification=signer, timestamp=timestamp)


def qualify_timestamp(
    report: SignatureReport, tl: TrustedList, status: DocumentTimestampStatus, now: datetime
) -> SignatureReport:
    """The report on a document timestamp with its qualified status (QTST)."""
    qualification = _out_of_date(assess_timestamp(tl, status), tl, now)
    timestamp = report.timestamp
    if timestamp is not None:
        timestamp = msgspec.structs.replace(timestamp, qualification=qualification)
    return msgspec.structs.replace(report, qualification=qualification, timestamp=timestamp)


def _cert(status: PdfSignatureStatus) -> x509.Certificate | None:
    try:
        cert: x509.Certificate = status.signing_cert
        return cert
    except Exception:  # no readable signer certificate
        return None
