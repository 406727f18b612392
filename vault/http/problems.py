"""One mapper from errors to RFC 9457 problem details (`application/problem+json`).

Browsers get the same status as a page in words: the portal wraps these handlers (`vault.web.errors`)."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

import auth
from vault.core.errors import VaultError
from vault.core.translate import LIBRARY_ERRORS, library_error
from vault.http.observability import STORE_ERRORS

__all__ = ("PROBLEM_MEDIA_TYPE", "TYPE_BASE", "exception_handlers", "problem_response")

log = logging.getLogger(__name__)
PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://citizen-vault.dev/problems/"

_HTTP_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Not allowed for this role"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("payload-too-large", "Request too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    429: ("too-many-requests", "Too many requests"),
}


def problem_response(
    status: int, slug: str, title: str, detail: str, request: Request[Any, Any, Any] | None = None, **extra: Any
) -> Response[Any]:
    body: dict[str, Any] = {"type": TYPE_BASE + slug, "title": title, "status": status, "detail": detail}
    if request is not None:
        body["instance"] = request.url.path
    headers: dict[str, str] = {}
    if status == 401:
        # RFC 6750: why a presented token was refused (a fixed client-safe sentence, never token material)
        refused = extra.pop("invalid_token", None)
        if refused is True:
            refused = auth.InvalidToken()
        headers["WWW-Authenticate"] = auth.bearer_challenge(
            "citizen-vault", refused if isinstance(refused, auth.InvalidToken) else None
        )
    if status == 416 and "size" in extra:
        headers["Content-Range"] = f"bytes */{extra.pop('size')}"
    if status in (429, 503) and (status == 503 or "retry_after" in extra):
        headers["Retry-After"] = str(extra.pop("retry_after", 5))
    body.update({k: v for k, v in extra.items() if isinstance(v, str | int | bool | list)})
    return Response(content=body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _vault_error(request: Request[Any, Any, Any], exc: VaultError) -> Response[Any]:
    if exc.status in (502, 503):
        STORE_ERRORS.labels(kind=exc.slug).inc()
    if exc.status >= 500:
        log.warning("%s on %s %s: %r", exc.slug, request.method, request.url.path, exc.__cause__)
    return problem_response(exc.status, exc.slug, exc.title, exc.detail, request, **exc.extra)


def _library_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Errors of the libraries that escaped a service."""
    return _vault_error(request, library_error(exc))


def _http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if status >= 500:
        return _internal_error(request, exc)
    if isinstance(exc, ValidationException) and _about_the_body(exc):
        return _invalid_body(request, exc)
    slug, title = _HTTP_SLUGS.get(status, ("http-error", "Request error"))
    detail = exc.detail if status != 400 or isinstance(exc, ValidationException) else "bad request"
    extra: dict[str, Any] = {}
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list):
        extra["errors"] = _errors(exc)
    response = problem_response(status, slug, title, str(detail), request, **extra)
    if status == 405 and exc.headers:
        response.headers.update(exc.headers)
    return response


def _errors(exc: ValidationException) -> list[dict[str, str]]:
    extra = exc.extra if isinstance(exc.extra, list) else []
    return [{"key": str(e.get("key", "")), "message": str(e.get("message", ""))} for e in extra if isinstance(e, dict)]


def _about_the_body(exc: ValidationException) -> bool:
    extra = exc.extra if isinstance(exc.extra, list) else []
    return any(isinstance(e, dict) and (e.get("source") == "body" or e.get("key") == "data") for e in extra)


def _required_fields(request: Request[Any, Any, Any]) -> list[str]:
    """The required fields of the handler's JSON body type (a msgspec Struct), for a helpful message."""
    parameter = request.route_handler.parsed_fn_signature.parameters.get("data")
    body_type = getattr(parameter, "annotation", None)
    for candidate in (body_type, *getattr(body_type, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, msgspec.Struct):
            return [f.name for f in msgspec.structs.fields(candidate) if f.required]
    return []


def _invalid_body(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """A body that breaks the schema: 422, like a body that breaks a rule, naming what is wrong or missing."""
    errors = [e for e in _errors(exc) if not (e["key"] == "data" and e["message"].strip("'") == "data")]
    required = _required_fields(request)
    if not errors:  # no body at all
        detail = "a JSON body is required" + (f" with the fields {', '.join(required)}" if required else "")
    else:
        detail = "; ".join(e["message"] for e in errors)[:500]
    return problem_response(
        422, "unprocessable-content", "Unprocessable content", detail, request, errors=errors, required=required
    )


def _internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        HTTP_500_INTERNAL_SERVER_ERROR, "internal-error", "Internal error", "an unexpected error occurred", request
    )


exception_handlers: dict[type[Exception] | int, Any] = {
    VaultError: _vault_error,
    **dict.fromkeys(LIBRARY_ERRORS, _library_error),
    HTTPException: _http_exception,
    Exception: _internal_error,
}
