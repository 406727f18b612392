"""PDF signing and verification with pyHanko: signer back ends, PAdES levels, reports.

A library: it knows nothing of the vault service, storage or HTTP. Errors derive from :class:`SigningError`.

Names are imported lazily (PEP 562): ``import signing`` does not import pyHanko until a name that needs it is
used, so a command that verifies one file starts fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._devpki import DevPki, ensure_dev_pki
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
        VerificationTimeout,
    )
    from ._model import PadesLevel, SignRequest, VisibleStamp
    from ._pkcs11 import Pkcs11Signer
    from ._pool import VerificationPool
    from ._report import (
        AdesVerdict,
        Revocation,
        SignatureReport,
        SignerIdentity,
        TimestampInfo,
        Verdict,
        VerificationReport,
    )
    from ._report_text import format_report_text
    from ._sign_service import PdfSigningService
    from ._signers import DocumentSigner, KeyFileSigner, Pkcs12Signer
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
}

__all__ = (
    "AdesVerdict",
    "Busy",
    "CertificateProblem",
    "DevPki",
    "DocumentSigner",
    "InvalidPdf",
    "KeyFileSigner",
    "PadesLevel",
    "PdfSigningService",
    "PdfVerifier",
    "Pkcs11Signer",
    "Pkcs12Signer",
    "Revocation",
    "SignRequest",
    "SignatureFieldError",
    "SignatureReport",
    "SignerIdentity",
    "SignerRevoked",
    "SignerUnavailable",
    "SigningError",
    "TimestampInfo",
    "TimestampUnavailable",
    "TooManySignatures",
    "Verdict",
    "VerificationPool",
    "VerificationReport",
    "VerificationTimeout",
    "VisibleStamp",
    "ensure_dev_pki",
    "format_report_text",
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
