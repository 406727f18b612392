"""Languages of the portal: gettext catalogues (Babel), chosen by `?lang=`, a cookie, or `Accept-Language`.

English is the source language (the message ids); French comes from `translations/fr/LC_MESSAGES/messages.po`,
compiled in memory when first needed, so no binary catalogue is committed.
"""

from __future__ import annotations

import functools
import gettext
import io
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

__all__ = (
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LANG_COOKIE",
    "N_",
    "choose_language",
    "current_language",
    "current_translations",
    "gettext_",
    "ngettext_",
    "translations",
    "use_language",
)

TRANSLATIONS_DIR = Path(__file__).parent / "translations"
DEFAULT_LANGUAGE = "en"
LANGUAGES: Mapping[str, str] = {"en": "English", "fr": "Français"}
"""Language code -> its name in that language (what the switch shows)."""
LANG_COOKIE = "vault-lang"

_current: ContextVar[str] = ContextVar("portal_language")


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalogue of `language` (English: the identity)."""
    if language == DEFAULT_LANGUAGE or language not in LANGUAGES:
        return gettext.NullTranslations()
    with (TRANSLATIONS_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def _accept_language(header: str) -> list[str]:
    """Language tags of an `Accept-Language` header, best first (RFC 9110, 12.5.4)."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, position, tag.strip().lower()))
    return [tag for _, _, tag in sorted(ranked)]


def choose_language(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The page language: an explicit `?lang=`, else the remembered choice, else the browser's preference."""
    for explicit in (query, cookie):
        if explicit is not None and explicit in LANGUAGES:
            return explicit
    for tag in _accept_language(accept_language or ""):
        primary = tag.split("-")[0]
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


def use_language(language: str) -> None:
    """Make `language` the one templates and `gettext_` use for the rest of this request (a context variable)."""
    _current.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)


def current_language() -> str:
    """The language of the current request (English outside a request)."""
    return _current.get(DEFAULT_LANGUAGE)


def current_translations() -> gettext.NullTranslations:
    """The catalogue of the current request."""
    return translations(current_language())


def N_(message: str) -> str:
    """Mark `message` for extraction; it is translated later, where it is shown (gettext's convention)."""
    return message


def gettext_(message: str) -> str:
    """`message` in the current request's language."""
    return current_translations().gettext(message)


def ngettext_(singular: str, plural: str, n: int) -> str:
    """The singular or plural form in the current request's language."""
    return current_translations().ngettext(singular, plural, n)
