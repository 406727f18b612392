"""LTA renewal: find when a B-LTA document's newest timestamp stops protecting it, and add a new document
timestamp that keeps every earlier signature and timestamp verifiable offline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from signing import (
    DevPkiResponders,
    KeyFileCaKey,
    PadesLevel,
    PdfSigningService,
    PdfVerifier,
    SignRequest,
    TimestampAuthority,
    TimestampUnavailable,
    archival_state,
)
from signing._issuance import Profile, issue, name
from tests.services.devpki_http import DevPkiServer, ServedDevPki
from tests.services.pki import MINIMAL_PDF, pdfsig, pdfsig_valid_count


@pytest.fixture(scope="module")
def short_tsa(served_pki: ServedDevPki) -> Iterator[tuple[str, dt.datetime]]:
    """A second TSA of the same PKI whose certificate expires in 400 days: (its URL, its expiry)."""
    pki = served_pki.pki
    key = KeyFileCaKey(ec.generate_private_key(ec.SECP256R1()))
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    cert = issue(
        subject=name("Short-lived TSA"), public_key=key.public_key(), issuer=pki.certificate("issuing").subject,  # type: ignore[arg-type]
        issuer_key=pki.ca_key("issuing"), profile=Profile.TSA, not_before=now - dt.timedelta(minutes=5),
        not_after=now + dt.timedelta(days=400), urls=pki.urls("issuing"),
    )
    responders = DevPkiResponders(pki)
    responders.timestamp_authority = TimestampAuthority(cert, key, chain=(pki.certificate("issuing"),))
    server = DevPkiServer().serve(responders)
    yield f"{server.base_url}/tsa", cert.not_valid_after_utc
    server.close()


async def _sign(served_pki: ServedDevPki, level: PadesLevel) -> bytes:
    pki = served_pki.pki
    service = PdfSigningService(pki.load_signer(), tsa_url=pki.tsa_url, trust_roots=pki.trust_roots())
    try:
        return await service.sign(MINIMAL_PDF.read_bytes(), SignRequest(level=level))
    finally:
        await service.aclose()


async def test_renewal_adds_a_timestamp_and_the_newest_one_decides(
    served_pki: ServedDevPki, short_tsa: tuple[str, dt.datetime], tmp_path: Path
) -> None:
    pki = served_pki.pki
    signed = await _sign(served_pki, PadesLevel.B_LTA)
    before = await archival_state(signed)
    renewer = PdfSigningService(None, tsa_url=short_tsa[0], trust_roots=pki.trust_roots())
    try:
        renewed = await renewer.renew_archival_timestamp(signed)
    finally:
        await renewer.aclose()
    after = await archival_state(renewed)

    assert before.document_timestamps == 1
    assert before.protected_until == pki.certificate("tsa").not_valid_after_utc
    assert not before.renewal_due(dt.timedelta(days=30))
    assert before.protected_until is not None
    assert before.renewal_due(dt.timedelta(days=30), now=before.protected_until - dt.timedelta(days=29))
    assert renewed.startswith(signed)  # an incremental update: nothing before it changes
    assert after.document_timestamps == 2
    assert after.protected_until == short_tsa[1]
    assert after.authority is not None
    assert "Short-lived TSA" in after.authority
    responders, served_pki.server.responders = served_pki.server.responders, None
    try:
        report = await PdfVerifier(pki.trust_roots(), allow_fetching=False).verify(renewed)
    finally:
        served_pki.server.responders = responders
    assert [(s.kind, s.intact, s.valid, s.trusted) for s in report.signatures] == [
        ("signature", True, True, True),
        ("document_timestamp", True, True, True),
        ("document_timestamp", True, True, True),
    ]
    path = tmp_path / "renewed.pdf"
    path.write_bytes(renewed)
    assert pdfsig_valid_count(path, served_pki.nssdb) == 1, pdfsig(path, served_pki.nssdb)


async def test_a_document_without_document_timestamps_has_nothing_to_renew(served_pki: ServedDevPki) -> None:
    state = await archival_state(await _sign(served_pki, PadesLevel.B_T))

    assert (state.document_timestamps, state.protected_until) == (0, None)
    assert not state.renewal_due(dt.timedelta(days=3650))


async def test_renewal_without_a_tsa_changes_nothing(served_pki: ServedDevPki) -> None:
    renewer = PdfSigningService(None, tsa_url=None, trust_roots=served_pki.pki.trust_roots())
    with pytest.raises(TimestampUnavailable):
        await renewer.renew_archival_timestamp(await _sign(served_pki, PadesLevel.B_LTA))
