"""PDF signing and verification with pyHanko: signer back ends, PAdES levels, reports.

A library: it knows nothing of the vault service, storage or HTTP. Errors derive from :class:`SigningError`.
"""

from ._devpki import DevPki, ensure_dev_pki
from ._errors import (
    CertificateProblem,
    InvalidPdf,
    SignatureFieldError,
    SignerRevoked,
    SignerUnavailable,
    SigningError,
    TimestampUnavailable,
)
from ._model import PadesLevel, SignRequest, VisibleStamp
from ._pkcs11 import Pkcs11Signer
from ._report import (
    AdesVerdict,
    SignatureReport,
    SignerIdentity,
    TimestampInfo,
    VerificationReport,
    format_report_text,
)
from ._sign_service import PdfSigningService
from ._signers import DocumentSigner, KeyFileSigner, Pkcs12Signer
from ._verify import PdfVerifier

__all__ = (
    "AdesVerdict",
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
    "SignRequest",
    "SignatureFieldError",
    "SignatureReport",
    "SignerIdentity",
    "SignerRevoked",
    "SignerUnavailable",
    "SigningError",
    "TimestampInfo",
    "TimestampUnavailable",
    "VerificationReport",
    "VisibleStamp",
    "ensure_dev_pki",
    "format_report_text",
)
