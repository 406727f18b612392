"""Templates (Jinja through Litestar's template config, with gettext) and the headers every portal page carries."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from babel.dates import format_datetime
from babel.numbers import format_decimal
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from vault.web.i18n import LANGUAGES, current_language, gettext_, ngettext_

__all__ = ("STATIC_DIR", "TEMPLATES_DIR", "format_size", "page_headers", "template_config")

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


def page_headers(form_targets: Iterable[str] = (), *, no_referrer: bool = False) -> dict[str, str]:
    """The security headers of an HTML page.

    Args:
        form_targets: Origins besides our own that a form may lead to (the identity provider, whose logout
            endpoint the sign-out form redirects to).
        no_referrer: Send no `Referer` at all (share-link pages: the token is in their URL).
    """
    form_action = " ".join(["'self'", *sorted({_origin(t) for t in form_targets if _origin(t)})])
    policy = (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
        f"connect-src 'self'; frame-src 'self'; form-action {form_action}; frame-ancestors 'none'; "
        "base-uri 'none'"
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer" if no_referrer else "same-origin",
        "Cache-Control": "no-store",
    }


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


def format_size(size: int) -> str:
    """A byte count as a person reads it, in the current language (`2.5 MB`)."""
    language = current_language()
    units = ("B", "kB", "MB", "GB", "TB")
    value = float(size)
    unit = 0
    while value >= 1000 and unit < len(units) - 1:
        value /= 1000
        unit += 1
    pattern = "#,##0" if unit == 0 else "#,##0.#"
    return f"{format_decimal(value, format=pattern, locale=language)}\u00a0{units[unit]}"


def format_when(value: datetime | str | None) -> str:
    """A date and time as a person reads it, in the current language (UTC)."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return format_datetime(value, format="medium", tzinfo=UTC, locale=current_language()) + " UTC"


def _configure(engine: JinjaTemplateEngine) -> None:
    env = engine.engine
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(gettext_, ngettext_, newstyle=True)  # type: ignore[attr-defined]
    env.globals["languages"] = LANGUAGES
    env.filters["filesize"] = format_size
    env.filters["when"] = format_when
    env.trim_blocks = True
    env.lstrip_blocks = True


def template_config() -> TemplateConfig[Any]:
    """Litestar's template config for the portal (autoescaping on)."""
    return TemplateConfig(directory=TEMPLATES_DIR, engine=JinjaTemplateEngine, engine_callback=_configure)
