"""PDF signing and verification with pyHanko: signer back ends, PAdES levels, reports.

A library: it knows nothing of the vault service, storage or HTTP. Errors derive from :class:`SigningError`.

Names are imported lazily (PEP 562): ``import signing`` does not import pyHanko until a name that needs it is
used, so a command that verifies one file starts fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._ca import ACR_EXTENSION_OID, FULCIO_ISSUER_OID, IDENTITY_POLICY_OID, CaKey, KeyFileCaKey
    from ._devpki import DevPki, ensure_dev_pki
    from ._devpki_http import DevPkiAnswer, DevPkiResponders
    from ._errors import (
        Busy,
        CertificateProblem,
        InvalidPdf,
        SignatureFieldError,
        SignerRevoked,
        SignerUnavailable,
        SigningError,
        TimestampUnavailable,
        TooManySignatures,
        TrustedListError,
        VerificationTimeout,
    )
    from ._evidence import EVIDENCE_FORMAT, SigningEvidence, build_evidence
    from ._identity import (
        MAX_CERTIFICATE_LIFETIME,
        IdentityCa,
        IdentitySigner,
        OneOffSigning,
        PersonalSignature,
        VerifiedIdentity,
        identity_of,
    )
    from ._issuance import CaUrls
    from ._lta import ArchivalState, archival_state
    from ._model import PadesLevel, SignRequest, VisibleStamp
    from ._pkcs11 import Pkcs11Signer
    from ._pkcs11_ca import Pkcs11CaKey
    from ._pool import VerificationPool
    from ._pool_setup import KeyFileSpec, Pkcs11Spec, SignerSpec, SigningWorkerConfig, TimestampAuthoritySpec
    from ._published_crl import CrlFile, CrlSnapshot, PeriodicCrl
    from ._report import (
        AdesVerdict,
        Qualification,
        Revocation,
        SignatureReport,
        SignerIdentity,
        TimestampInfo,
        Verdict,
        VerificationReport,
    )
    from ._report_text import format_report_text
    from ._responders import CrlIssuer, LocalTimeStamper, OcspResponder, TimestampAuthority
    from ._seals import AgencySeals, SealCheck, UnknownAgency, check_sealed_by
    from ._sign_service import PdfSigningService
    from ._signers import DocumentSigner, KeyFileSigner, Pkcs12Signer
    from ._signing_pool import SigningPool, default_worker_count
    from ._trusted_list import TrustedList
    from ._verify import PdfVerifier

_MODULES: dict[str, str] = {
    "DevPki": "_devpki",
    "ensure_dev_pki": "_devpki",
    "Busy": "_errors",
    "CertificateProblem": "_errors",
    "InvalidPdf": "_errors",
    "SignatureFieldError": "_errors",
    "SignerRevoked": "_errors",
    "SignerUnavailable": "_errors",
    "SigningError": "_errors",
    "TimestampUnavailable": "_errors",
    "TooManySignatures": "_errors",
    "VerificationTimeout": "_errors",
    "PadesLevel": "_model",
    "SignRequest": "_model",
    "VisibleStamp": "_model",
    "Pkcs11Signer": "_pkcs11",
    "VerificationPool": "_pool",
    "AdesVerdict": "_report",
    "Qualification": "_report",
    "TrustedList": "_trusted_list",
    "TrustedListError": "_errors",
    "Revocation": "_report",
    "SignatureReport": "_report",
    "SignerIdentity": "_report",
    "TimestampInfo": "_report",
    "Verdict": "_report",
    "VerificationReport": "_report",
    "format_report_text": "_report_text",
    "PdfSigningService": "_sign_service",
    "DocumentSigner": "_signers",
    "KeyFileSigner": "_signers",
    "Pkcs12Signer": "_signers",
    "PdfVerifier": "_verify",
    "ACR_EXTENSION_OID": "_ca",
    "FULCIO_ISSUER_OID": "_ca",
    "IDENTITY_POLICY_OID": "_ca",
    "CaKey": "_ca",
    "KeyFileCaKey": "_ca",
    "DevPkiAnswer": "_devpki_http",
    "DevPkiResponders": "_devpki_http",
    "EVIDENCE_FORMAT": "_evidence",
    "SigningEvidence": "_evidence",
    "build_evidence": "_evidence",
    "MAX_CERTIFICATE_LIFETIME": "_identity",
    "IdentityCa": "_identity",
    "IdentitySigner": "_identity",
    "OneOffSigning": "_identity",
    "PersonalSignature": "_identity",
    "VerifiedIdentity": "_identity",
    "identity_of": "_identity",
    "CaUrls": "_issuance",
    "ArchivalState": "_lta",
    "archival_state": "_lta",
    "Pkcs11CaKey": "_pkcs11_ca",
    "SigningPool": "_signing_pool",
    "default_worker_count": "_signing_pool",
    "TimestampAuthoritySpec": "_pool_setup",
    "KeyFileSpec": "_pool_setup",
    "Pkcs11Spec": "_pool_setup",
    "SignerSpec": "_pool_setup",
    "SigningWorkerConfig": "_pool_setup",
    "CrlIssuer": "_responders",
    "LocalTimeStamper": "_responders",
    "CrlFile": "_published_crl",
    "CrlSnapshot": "_published_crl",
    "PeriodicCrl": "_published_crl",
    "OcspResponder": "_responders",
    "TimestampAuthority": "_responders",
    "AgencySeals": "_seals",
    "SealCheck": "_seals",
    "UnknownAgency": "_seals",
    "check_sealed_by": "_seals",
}

__all__ = (
    "ACR_EXTENSION_OID",
    "EVIDENCE_FORMAT",
    "FULCIO_ISSUER_OID",
    "IDENTITY_POLICY_OID",
    "MAX_CERTIFICATE_LIFETIME",
    "AdesVerdict",
    "AgencySeals",
    "ArchivalState",
    "Busy",
    "CaKey",
    "CaUrls",
    "CertificateProblem",
    "CrlFile",
    "CrlIssuer",
    "CrlSnapshot",
    "DevPki",
    "DevPkiAnswer",
    "DevPkiResponders",
    "DocumentSigner",
    "IdentityCa",
    "IdentitySigner",
    "InvalidPdf",
    "KeyFileCaKey",
    "KeyFileSigner",
    "KeyFileSpec",
    "LocalTimeStamper",
    "OcspResponder",
    "OneOffSigning",
    "PadesLevel",
    "PdfSigningService",
    "PdfVerifier",
    "PeriodicCrl",
    "PersonalSignature",
    "Pkcs11CaKey",
    "Pkcs11Signer",
    "Pkcs11Spec",
    "Pkcs12Signer",
    "Qualification",
    "Revocation",
    "SealCheck",
    "SignRequest",
    "SignatureFieldError",
    "SignatureReport",
    "SignerIdentity",
    "SignerRevoked",
    "SignerSpec",
    "SignerUnavailable",
    "SigningError",
    "SigningEvidence",
    "SigningPool",
    "SigningWorkerConfig",
    "TimestampAuthority",
    "TimestampAuthoritySpec",
    "TimestampInfo",
    "TimestampUnavailable",
    "TooManySignatures",
    "TrustedList",
    "TrustedListError",
    "UnknownAgency",
    "Verdict",
    "VerificationPool",
    "VerificationReport",
    "VerificationTimeout",
    "VerifiedIdentity",
    "VisibleStamp",
    "archival_state",
    "build_evidence",
    "check_sealed_by",
    "default_worker_count",
    "ensure_dev_pki",
    "format_report_text",
    "identity_of",
)


def __getattr__(name: str) -> Any:
    """Import the module that defines `name` on first use (PEP 562)."""
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
