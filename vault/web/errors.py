"""HTML error pages for browsers; API clients keep their problem details.

`html_error_response` is what the problem-details handler calls when the client asks for HTML: it renders
without touching the database (which may be what failed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Request, Response
from litestar.response import Template

from vault.http.problems import PROBLEM_MEDIA_TYPE
from vault.web.i18n import LANG_COOKIE, LANGUAGES, N_, choose_language, gettext_, use_language
from vault.web.rendering import page_headers

__all__ = ("error_texts", "html_error_response", "wants_html", "with_error_pages")

_HTML = "text/html"
_DATA = ("application/json", "application/problem+json")


def wants_html(request: Request[Any, Any, Any]) -> bool:
    """Whether the client prefers HTML: it names `text/html` and ranks it above JSON (`*/*` means an API client)."""
    accept = request.headers.get("accept", "")
    if _HTML not in accept:
        return False
    return request.accept.best_match([_HTML, *_DATA], default=_DATA[0]) == _HTML


_TEXTS: dict[int, tuple[str, str]] = {
    401: (N_("You need to sign in"), N_("Sign in to see this page.")),
    403: (N_("You cannot do this"), N_("Your account is not allowed to see this page or do this.")),
    404: (
        N_("Page not found"),
        N_("If you typed the web address, check it is correct. If you pasted it, check you copied all of it."),
    ),
    410: (
        N_("This is no longer available"),
        N_("It has expired, was withdrawn, or has been used as many times as allowed."),
    ),
    413: (N_("The file is too big"), N_("Choose a smaller file and try again.")),
    415: (N_("This type of file is not accepted"), N_("Choose a file of a type this page accepts.")),
    429: (N_("Too many attempts"), N_("Wait a few minutes and try again.")),
    500: (
        N_("Sorry, there is a problem with the service"),
        N_("Try again later. Nothing you sent has been lost or shared."),
    ),
}
_OTHER = (N_("Something went wrong"), N_("The request could not be processed. Go back and try again."))


def error_texts(status: int) -> tuple[str, str]:
    """The title and the explanation of an error page, in the current language."""
    title, explanation = _TEXTS.get(500 if status >= 500 else status, _OTHER)
    return gettext_(title), gettext_(explanation)


def html_error_response(
    request: Request[Any, Any, Any], status: int, headers: dict[str, str] | None = None
) -> Response[Any]:
    """The error page for `status`, in the visitor's language, with the portal's security headers.

    Args:
        request: The failed request.
        status: The HTTP status to answer with.
        headers: Extra headers to keep (for example `Retry-After`, `Allow`).
    """
    language = choose_language(
        request.query_params.get("lang"), request.cookies.get(LANG_COOKIE), request.headers.get("accept-language")
    )
    use_language(language)
    title, explanation = error_texts(status)
    return Template(
        template_name="error.html",
        context={
            "lang": language,
            "language_switch": {code: f"?lang={code}" for code in LANGUAGES if code != language},
            "user": None,
            "csrf_token": None,
            "status": status,
            "title": title,
            "explanation": explanation,
        },
        status_code=status,
        headers={**(headers or {}), **page_headers()},  # no sign-out form here: forms post to us only
        media_type="text/html",
    )


Handler = Callable[[Request[Any, Any, Any], Any], Response[Any]]


def with_error_pages(handlers: dict[type[Exception] | int, Handler]) -> dict[type[Exception] | int, Handler]:
    """The problem-details handlers, answering a browser with the error page of the same status and headers
    (`Retry-After`, `Allow`, `WWW-Authenticate`) instead of JSON."""

    def wrap(handler: Handler) -> Handler:
        def handle(request: Request[Any, Any, Any], exc: Any) -> Response[Any]:
            response = handler(request, exc)
            if response.media_type == PROBLEM_MEDIA_TYPE and wants_html(request):
                return html_error_response(request, response.status_code or 500, dict(response.headers))
            return response

        return handle

    return {kind: wrap(handler) for kind, handler in handlers.items()}
