"""The agencies' seals: without a registered seal (production), an agency cannot seal or issue, and says so
as a configuration conflict (409), not an outage."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import signing
from vault.core.errors import Conflict
from vault.core.translate import library_error
from vault.signatures.seals import AgencySealBook


def test_an_agency_without_a_registered_seal_is_a_conflict(tmp_path: Path) -> None:
    pki = signing.ensure_dev_pki(tmp_path / "pki")
    book = AgencySealBook(
        {"tax-office": pki.agency_signer("tax-office")},
        issue=None,
        tsa_url=None,
        timestamper=None,
        trust_roots=[pki.root_cert_path.read_bytes()],
        allow_fetching=False,
    )

    async def scenario() -> str:
        try:
            with pytest.raises(signing.UnknownAgency) as refused:
                await book.seal("city-registry", b"%PDF-1.7", signing.SignRequest())
            assert isinstance(library_error(refused.value), Conflict)
            return await book.fingerprint("tax-office")
        finally:
            await book.aclose()

    assert len(asyncio.run(scenario())) == 64


def test_development_issues_a_seal_per_agency_on_first_use(tmp_path: Path) -> None:
    pki = signing.ensure_dev_pki(tmp_path / "pki")
    book = AgencySealBook(
        {},
        issue=pki.agency_signer,
        tsa_url=None,
        timestamper=None,
        trust_roots=[pki.root_cert_path.read_bytes()],
        allow_fetching=False,
    )

    async def scenario() -> tuple[str, str, str]:
        try:
            first = await book.fingerprint("tax-office")
            return first, await book.fingerprint("tax-office"), await book.fingerprint("city-registry")
        finally:
            await book.aclose()

    first, again, other = asyncio.run(scenario())
    assert first == again != other  # one seal per agency, kept
    assert pki.agency_paths("tax-office")[1].exists()
