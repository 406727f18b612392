"""The exception hierarchy of the signing library: one root, client-safe details."""

from __future__ import annotations

__all__ = (
    "Busy",
    "CertificateProblem",
    "InvalidPdf",
    "SignatureFieldError",
    "SignerRevoked",
    "SignerUnavailable",
    "SigningError",
    "TimestampUnavailable",
    "TooManySignatures",
    "TrustedListError",
    "VerificationTimeout",
)


class SigningError(Exception):
    """Root of every error raised by :mod:`signing`.

    Errors are for malformed input and unusable infrastructure; a bad signature is a verification *result*, not
    an exception.

    Attributes:
        detail: A message that is safe to show to a client (no paths, keys or library internals).
    """

    default_detail = "The signing operation failed."

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.default_detail
        super().__init__(self.detail)


class InvalidPdf(SigningError):
    """The input is not a PDF we can process: malformed, truncated, too large or a decompression bomb."""

    default_detail = "The document is not a readable PDF."


class TimestampUnavailable(SigningError):
    """The timestamp authority could not be reached or gave an unusable answer; nothing was signed."""

    default_detail = "The timestamp authority is unavailable."


class SignerUnavailable(SigningError):
    """The signing key or token cannot be used (missing file, wrong PIN, HSM unreachable)."""

    default_detail = "The signing key is unavailable."


class CertificateProblem(SigningError):
    """The signer's certificate is not acceptable for signing (expired, untrusted, wrong key usage)."""

    default_detail = "The signing certificate is not acceptable."


class SignerRevoked(CertificateProblem):
    """The signer's certificate (or one of its issuers) has been revoked."""

    default_detail = "The signing certificate has been revoked."


class SignatureFieldError(SigningError):
    """The document does not allow the requested signature: the field is missing or already signed, or an
    earlier certification forbids the change."""

    default_detail = "The document does not allow this signature."


class TooManySignatures(InvalidPdf):
    """The document has more signatures than a verification will check (a denial-of-service guard)."""

    default_detail = "The document has too many signatures to verify."


class TrustedListError(SigningError):
    """The configured trusted list cannot be used: unreadable, not an ETSI TS 119 612 list, or its signature does
    not verify against the configured list signer."""

    default_detail = "The trusted list cannot be used."


class VerificationTimeout(SigningError):
    """A verification ran over its time budget and was stopped."""

    default_detail = "Verifying the document took too long."


class Busy(SigningError):
    """Every verification worker is busy and the waiting line is full: try again later.

    Attributes:
        retry_after: Seconds after which a retry is likely to be accepted.
    """

    default_detail = "The verification service is busy; try again later."

    def __init__(self, detail: str | None = None, retry_after: int = 5) -> None:
        super().__init__(detail)
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[type[Busy], tuple[str, int]]:
        return (type(self), (self.detail, self.retry_after))
