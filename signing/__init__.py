"""PDF signing and verification with pyHanko: signer back ends, PAdES levels, reports.

A library: it knows nothing of the vault service, storage or HTTP. Errors derive from :class:`SigningError`.
"""

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
    "VerificationReport",
    "VerificationTimeout",
    "VisibleStamp",
    "ensure_dev_pki",
    "format_report_text",
)
