"""Signing evidence: JSON for machines and a PDF for people, read from the signed document itself, never appended
to it."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from signing import (
    EVIDENCE_FORMAT,
    AgencySeals,
    IdentityCa,
    IdentitySigner,
    InvalidPdf,
    PadesLevel,
    PdfSigningService,
    PersonalSignature,
    SignRequest,
    VerifiedIdentity,
    build_evidence,
)
from tests.services.devpki_http import ServedDevPki
from tests.services.pki import MINIMAL_PDF, qpdf_check

ZOE = VerifiedIdentity(name="Zoë Ångström", issuer="https://id.example.gov", subject="z-42", acr="substantial")
PROOF = {"log_index": 17, "tree_size": 40, "hashes": ["aa" * 32, "bb" * 32], "checkpoint": "vault.example\n40\n…"}


@pytest.fixture
async def personal(served_pki: ServedDevPki) -> AsyncIterator[PersonalSignature]:
    pki = served_pki.pki
    engine = PdfSigningService(None, tsa_url=pki.tsa_url, trust_roots=pki.trust_roots())
    try:
        yield await IdentitySigner(IdentityCa.from_dev_pki(pki), engine).sign(
            MINIMAL_PDF.read_bytes(), ZOE, SignRequest(level=PadesLevel.B_T)
        )
    finally:
        await engine.aclose()


async def test_json_evidence_says_who_when_what_and_carries_the_proof(personal: PersonalSignature) -> None:
    evidence = await build_evidence(personal.pdf, identity=ZOE, inclusion_proof=PROOF)

    data = json.loads(evidence.to_json())

    assert data["format"] == EVIDENCE_FORMAT
    assert data["document"]["sha256"] == hashlib.sha256(personal.pdf).hexdigest()
    assert data["identity"] == {"name": "Zoë Ångström", "issuer": "https://id.example.gov", "subject": "z-42",
                                "uri": "https://id.example.gov#z-42", "acr": "substantial"}
    assert base64.b64decode(data["certificate"]["der_base64"]) == personal.certificate_der
    assert data["certificate"]["sha256"] == personal.certificate_sha256
    assert data["timestamp"]["time"] == personal.timestamp.isoformat().replace("+00:00", "Z")
    assert "Time Stamping Authority" in data["timestamp"]["authority"]
    assert data["inclusion_proof"] == PROOF


async def test_pdf_evidence_is_a_readable_separate_document(personal: PersonalSignature, tmp_path: Path) -> None:
    before = personal.pdf
    evidence = await build_evidence(personal.pdf, identity=ZOE, inclusion_proof=PROOF)

    path = tmp_path / "evidence.pdf"
    path.write_bytes(evidence.to_pdf())
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout

    assert personal.pdf == before  # the signed document is untouched
    assert qpdf_check(path).returncode == 0
    assert "Zoë Ångström" in text
    assert "https://id.example.gov#z-42" in text
    assert "substantial" in text
    assert hashlib.sha256(personal.pdf).hexdigest() in text
    assert personal.certificate_sha256 in text
    assert "BEGIN CERTIFICATE" in text


async def test_a_seal_has_evidence_without_a_person(served_pki: ServedDevPki) -> None:
    pki = served_pki.pki
    seals = AgencySeals({"Tax Office": pki.agency_signer("Tax Office")}, tsa_url=None, trust_roots=pki.trust_roots())
    try:
        sealed = await seals.seal("Tax Office", MINIMAL_PDF.read_bytes(), SignRequest(field_name="seal"))
    finally:
        await seals.aclose()

    data = (await build_evidence(sealed, field="seal")).to_dict()

    assert (data["identity"], data["timestamp"], data["inclusion_proof"]) == (None, None, None)
    assert "Tax Office" in data["certificate"]["subject"]
    assert data["claimed_signing_time"] is not None


async def test_evidence_refuses_what_it_cannot_stand_behind(personal: PersonalSignature) -> None:
    with pytest.raises(InvalidPdf, match="no such signature"):
        await build_evidence(personal.pdf, field="nope")
    with pytest.raises(InvalidPdf, match="no such signature"):
        await build_evidence(MINIMAL_PDF.read_bytes())
    with pytest.raises(InvalidPdf, match="JSON"):
        await build_evidence(personal.pdf, inclusion_proof=object())
