"""``import signing`` stays light: pyHanko is imported only when a name that needs it is used."""

from __future__ import annotations

import subprocess
import sys

import pytest

import signing

PROBE = """
import sys, signing
for name in ("SigningError", "InvalidPdf", "Busy", "VerificationReport", "format_report_text", "PadesLevel",
             "VerificationPool"):
    getattr(signing, name)
print(sorted(m for m in sys.modules if m.split(".")[0] in {"pyhanko", "pyhanko_certvalidator", "aiohttp"}))
"""


def test_import_signing_does_not_import_pyhanko() -> None:
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120)
    assert result.stdout.strip() == "[]"


def test_every_public_name_resolves() -> None:
    assert sorted(signing.__all__) == sorted(signing._MODULES)
    for name in signing.__all__:
        assert getattr(signing, name) is not None


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = signing.Nope  # type: ignore[attr-defined]
