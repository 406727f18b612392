"""The portal's languages: every message of the code and templates has its French translation; negotiation."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.pofile import read_po

from vault.web.i18n import choose_language, translations
from vault.web.rendering import format_size

WEB = Path(__file__).resolve().parents[2] / "vault" / "web"
KEYWORDS = {"gettext_": None, "ngettext_": (1, 2), "N_": None, "_": None, "gettext": None, "ngettext": (1, 2)}


def source_messages() -> set[str]:
    """Every message id in the portal's modules, templates and domain pages (what `pybabel extract` finds)."""
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    options = {"templates/**.html": {"trim_blocks": "true", "lstrip_blocks": "true"}}
    found: set[str] = set()
    for _, _, message, _, _ in extract_from_dir(str(WEB), method_map, options, keywords=KEYWORDS):
        found.add(message if isinstance(message, str) else message[0])
    for pages in sorted(WEB.parent.glob("*/pages*.py")):
        for _, message, _, _ in extract_from_file("python", str(pages), keywords=KEYWORDS):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_message_has_a_french_translation() -> None:
    with (WEB / "translations" / "fr" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale="fr")
    translated = {
        m.id if isinstance(m.id, str) else m.id[0]
        for m in catalog
        if m.id and m.string and all(m.string if isinstance(m.string, tuple) else [m.string]) and not m.fuzzy
    }
    missing = sorted(source_messages() - translated)
    assert not missing, f"messages without a French translation (pybabel update, then translate): {missing}"


def test_french_is_used_and_english_is_the_source() -> None:
    assert translations("fr").gettext("Sign in") == "Se connecter"
    assert translations("en").gettext("Sign in") == "Sign in"


@pytest.mark.parametrize(
    ("query", "cookie", "header", "expected"),
    [
        (None, None, None, "en"),
        (None, None, "fr-FR,fr;q=0.9,en;q=0.8", "fr"),
        (None, None, "de-DE,de;q=0.9,fr;q=0.5", "fr"),  # the best language we have
        (None, None, "en;q=0.2,fr;q=0.9", "fr"),  # by quality, not order
        (None, None, "fr;q=0", "en"),  # q=0 means "not French"
        (None, "fr", "en", "fr"),  # a remembered choice beats the browser
        ("en", "fr", "fr", "en"),  # the switch beats everything
        ("xx", None, "fr", "fr"),  # an unknown language is ignored
    ],
)
def test_language_choice(query: str | None, cookie: str | None, header: str | None, expected: str) -> None:
    assert choose_language(query, cookie, header) == expected


def test_sizes_read_like_a_person_writes_them() -> None:
    assert format_size(999) == "999\u00a0B"
    assert format_size(2_500_000) == "2.5\u00a0MB"
