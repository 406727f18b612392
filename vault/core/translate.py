"""The one place where errors of the libraries (auth, storage, signing) become service errors."""

from __future__ import annotations

import auth
import signing
import storage
from vault.core.errors import (
    BadRequest,
    Busy,
    Conflict,
    IntegrityFailure,
    KeysUnavailable,
    StorageUnavailableError,
    Unauthorized,
    UnprocessableContent,
    UpstreamUnavailable,
    VaultError,
)

__all__ = ("LIBRARY_ERRORS", "library_error")

LIBRARY_ERRORS = (auth.AuthError, storage.StorageError, signing.SigningError)


def _signing_error(exc: signing.SigningError) -> VaultError:
    detail = getattr(exc, "detail", None)  # the library's `detail` is client-safe
    if isinstance(exc, signing.Busy):
        return Busy(detail or "every verification worker is busy; try again shortly", retry_after=exc.retry_after)
    if isinstance(exc, signing.VerificationTimeout):
        return UnprocessableContent(detail or "this PDF is too costly to verify within the time budget")
    if isinstance(exc, signing.InvalidPdf):
        return UnprocessableContent(detail or "not a usable PDF")
    if isinstance(exc, signing.SignatureFieldError | signing.UnknownAgency):  # retrying will not help
        return Conflict(detail or "the document does not allow this signature")
    if isinstance(exc, signing.TimestampUnavailable):
        return UpstreamUnavailable(detail or "the timestamp authority is unavailable; nothing was signed")
    return UpstreamUnavailable(detail or "the signer is unavailable")


def library_error(exc: Exception) -> VaultError:
    """A library error as the service error it means (never leaking internals); `exc` becomes its cause."""
    mapped: VaultError
    if isinstance(exc, auth.InvalidToken):
        mapped = Unauthorized("the access token is not valid", invalid_token=exc)
    elif isinstance(exc, auth.ProviderUnavailable):
        mapped = UpstreamUnavailable("the identity provider is unavailable")
    elif isinstance(exc, storage.KeyProviderUnavailable):
        mapped = KeysUnavailable()
    elif isinstance(exc, storage.StorageUnavailable):
        mapped = StorageUnavailableError()
    elif isinstance(exc, storage.IntegrityError | storage.ObjectNotFound):
        mapped = IntegrityFailure()
    elif isinstance(exc, signing.SigningError):
        mapped = _signing_error(exc)
    else:
        mapped = BadRequest(getattr(exc, "detail", "the request could not be processed"))
    mapped.__cause__ = exc
    return mapped
