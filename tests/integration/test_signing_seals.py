"""Agency seals: each agency signs with its own certificate, and a document counts as the agency's only when its
newest signature is by that registered certificate and nothing but long-term material came after it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from io import BytesIO

import pytest
from pyhanko.pdf_utils.generic import NameObject
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from signing import AgencySeals, PadesLevel, PdfSigningService, SignRequest, UnknownAgency, check_sealed_by
from tests.services.devpki_http import ServedDevPki
from tests.services.pki import MINIMAL_PDF

TAX, HEALTH = "Tax Office", "Health Agency"


@pytest.fixture
async def seals(served_pki: ServedDevPki) -> AsyncIterator[AgencySeals]:
    pki = served_pki.pki
    registry = AgencySeals(
        {name: pki.agency_signer(name) for name in (TAX, HEALTH)}, tsa_url=pki.tsa_url, trust_roots=pki.trust_roots()
    )
    yield registry
    await registry.aclose()


async def test_each_agency_seals_with_its_own_certificate(seals: AgencySeals) -> None:
    sealed = await seals.seal(TAX, MINIMAL_PDF.read_bytes(), SignRequest(level=PadesLevel.B_T))

    assert seals.agencies == (HEALTH, TAX)
    assert seals.fingerprint(TAX) != seals.fingerprint(HEALTH)
    assert (await seals.check(TAX, sealed)).sealed
    assert await seals.check(HEALTH, sealed) == (await check_sealed_by(sealed, seals.fingerprint(HEALTH)))
    refused = await seals.check(HEALTH, sealed)
    assert (refused.sealed, refused.reason) == (False, "the newest signature is not by the agency's registered seal")


async def test_a_b_lta_seal_still_counts_after_its_document_timestamp(seals: AgencySeals) -> None:
    sealed = await seals.seal(TAX, MINIMAL_PDF.read_bytes(), SignRequest(level=PadesLevel.B_LTA))

    check = await check_sealed_by(sealed, seals.signer(TAX).certificate)

    assert check.sealed, check.reason


async def test_the_deployment_seal_is_not_an_agency_seal(seals: AgencySeals, served_pki: ServedDevPki) -> None:
    pki = served_pki.pki
    deployment = PdfSigningService(pki.load_signer(), tsa_url=None, trust_roots=pki.trust_roots())
    try:
        forged = await deployment.sign(MINIMAL_PDF.read_bytes(), SignRequest(reason="Tax clearance"))
    finally:
        await deployment.aclose()

    assert not (await seals.check(TAX, forged)).sealed


async def test_changes_after_the_seal_are_refused(seals: AgencySeals) -> None:
    sealed = await seals.seal(TAX, MINIMAL_PDF.read_bytes(), SignRequest())
    writer = IncrementalPdfFileWriter(BytesIO(sealed))
    writer.root["/PageMode"] = NameObject("/FullScreen")
    writer.update_root()
    out = BytesIO()
    writer.write(out)

    check = await seals.check(TAX, out.getvalue())

    assert (check.sealed, check.reason) == (False, "the document was changed after the agency sealed it")


async def test_a_later_signature_by_someone_else_is_refused(seals: AgencySeals) -> None:
    sealed = await seals.seal(TAX, MINIMAL_PDF.read_bytes(), SignRequest())
    countersigned = await seals.seal(HEALTH, sealed, SignRequest())

    assert not (await seals.check(TAX, countersigned)).sealed


async def test_tampered_signed_bytes_are_refused(seals: AgencySeals) -> None:
    sealed = await seals.seal(TAX, MINIMAL_PDF.read_bytes(), SignRequest())
    tampered = sealed.replace(b"Citizen Vault test document", b"Citizen Vault TEST document", 1)

    check = await seals.check(TAX, tampered)

    assert (check.sealed, check.reason) == (False, "the agency's signature does not match the document")


async def test_an_unsigned_document_and_an_unknown_agency(seals: AgencySeals) -> None:
    assert (await seals.check(TAX, MINIMAL_PDF.read_bytes())).reason == "the document is not signed"
    with pytest.raises(UnknownAgency):
        await seals.seal("Ministry of Silly Walks", MINIMAL_PDF.read_bytes(), SignRequest())
