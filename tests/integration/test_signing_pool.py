"""Signing in a bounded pool of worker processes: the seal, agency seals, personal signatures and LTA renewal
work from workers that open their own keys, token sessions and HTTP sessions; a full queue says Busy."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from signing import (
    Busy,
    IdentityCaSpec,
    KeyFileSpec,
    PadesLevel,
    PdfVerifier,
    Pkcs11Spec,
    SignerUnavailable,
    SigningPool,
    SigningWorkerConfig,
    SignRequest,
    UnknownAgency,
    VerifiedIdentity,
    archival_state,
    check_sealed_by,
)
from signing._issuance import Profile, issue, name
from tests.services.devpki_http import ServedDevPki
from tests.services.pki import MINIMAL_PDF
from tests.services.softhsm import SoftHsmToken

ALICE = VerifiedIdentity(name="Alice Example", issuer="https://id.example.gov", subject="a1", acr="high")


def _config(served: ServedDevPki, **overrides: object) -> SigningWorkerConfig:
    pki = served.pki
    agency_key, agency_cert = pki.agency_paths("Tax Office")
    pki.agency_signer("Tax Office")  # issued on first use
    values: dict = {
        "trust_roots": (pki.root_cert_path.read_bytes(),),
        "tsa_url": pki.tsa_url,
        "seal": KeyFileSpec(pki.seal_key_path, pki.seal_cert_path, (pki.issuing_cert_path,)),
        "agencies": (("Tax Office", KeyFileSpec(agency_key, agency_cert, (pki.issuing_cert_path,))),),
        "identity_ca": IdentityCaSpec(pki.cert_path("identity"), KeyFileSpec(pki.key_path("identity"),
                                      pki.cert_path("identity")), urls=pki.urls("identity")),
        **overrides,
    }
    return SigningWorkerConfig(**values)


@pytest.fixture(scope="module")
async def pool(served_pki: ServedDevPki) -> AsyncIterator[SigningPool]:
    workers = SigningPool(_config(served_pki), workers=2)
    await workers.start()
    yield workers
    await workers.aclose()


async def test_every_kind_of_signature_comes_back_from_the_workers(pool: SigningPool, served_pki: ServedDevPki) -> None:
    pdf = MINIMAL_PDF.read_bytes()

    sealed, agency, personal, archived = await asyncio.gather(
        pool.seal(pdf, SignRequest(level=PadesLevel.B_T)),
        pool.seal_as("Tax Office", pdf, SignRequest(level=PadesLevel.B_T)),
        pool.sign_as_person(ALICE, pdf, SignRequest(level=PadesLevel.B_LT)),
        pool.seal(pdf, SignRequest(level=PadesLevel.B_LTA)),
    )
    renewed = await pool.renew_archival_timestamp(archived)

    verifier = PdfVerifier(served_pki.pki.trust_roots())
    for document in (sealed, agency, personal.pdf, renewed):
        report = await verifier.verify(document)
        assert all((s.intact, s.valid, s.trusted) == (True, True, True) for s in report.signatures)
    assert (await check_sealed_by(agency, served_pki.pki.agency_signer("Tax Office").certificate)).sealed
    assert x509.load_der_x509_certificate(personal.certificate_der).subject.rfc4514_string() == "CN=Alice Example"
    assert (await archival_state(renewed)).document_timestamps == 2


async def test_signing_errors_cross_the_process_boundary(pool: SigningPool) -> None:
    with pytest.raises(UnknownAgency):
        await pool.seal_as("Nobody", MINIMAL_PDF.read_bytes(), SignRequest())


async def test_a_full_queue_is_busy_with_a_retry_hint(served_pki: ServedDevPki) -> None:
    single = SigningPool(_config(served_pki), workers=1, max_queue=0, retry_after=3)
    try:
        first = asyncio.create_task(single.seal(MINIMAL_PDF.read_bytes(), SignRequest()))
        await asyncio.sleep(0)  # the first job is accepted and handed to the worker
        with pytest.raises(Busy) as refused:
            await single.seal(MINIMAL_PDF.read_bytes(), SignRequest())
        signed = await first
        again = await single.seal(MINIMAL_PDF.read_bytes(), SignRequest())  # capacity is back
    finally:
        await single.aclose()

    assert refused.value.retry_after == 3
    assert single.in_flight == 0
    assert signed.startswith(MINIMAL_PDF.read_bytes())
    assert again.startswith(MINIMAL_PDF.read_bytes())


async def test_without_an_identity_ca_personal_signing_is_unavailable(served_pki: ServedDevPki) -> None:
    no_ca = SigningPool(_config(served_pki, identity_ca=None), workers=1)
    try:
        with pytest.raises(SignerUnavailable, match="identity CA"):
            await no_ca.sign_as_person(ALICE, MINIMAL_PDF.read_bytes(), SignRequest(level=PadesLevel.B_T))
    finally:
        await no_ca.aclose()


@pytest.mark.hsm
async def test_each_worker_opens_its_own_token_session(
    served_pki: ServedDevPki, softhsm_token: SoftHsmToken, tmp_path: Path
) -> None:
    from pkcs11 import Attribute, KeyType
    from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

    with softhsm_token.open_session() as session:
        params = session.create_domain_parameters(
            KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True
        )
        public, _ = params.generate_keypair(
            store=True, label="pool-seal",
            private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False, Attribute.SIGN: True},
        )
        public_key = serialization.load_der_public_key(encode_ec_public_key(public))
    pki = served_pki.pki
    now = dt.datetime.now(dt.UTC)
    cert = issue(
        subject=name("HSM Pool Seal"), public_key=public_key, issuer=pki.certificate("issuing").subject,  # type: ignore[arg-type]
        issuer_key=pki.ca_key("issuing"), profile=Profile.SEAL, not_before=now - dt.timedelta(minutes=5),
        not_after=now + dt.timedelta(days=1), urls=pki.urls("issuing"),
    )
    cert_path = tmp_path / "pool-seal.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    spec = Pkcs11Spec(softhsm_token.module_path, softhsm_token.token_label, softhsm_token.pin, "pool-seal",
                      cert_path, (pki.issuing_cert_path,))
    assert softhsm_token.pin not in repr(spec)
    hsm_pool = SigningPool(_config(served_pki, seal=spec, agencies=(), identity_ca=None), workers=2)
    try:
        await hsm_pool.start()
        signed = await asyncio.gather(*(hsm_pool.seal(MINIMAL_PDF.read_bytes(), SignRequest()) for _ in range(4)))
    finally:
        await hsm_pool.aclose()

    verifier = PdfVerifier(pki.trust_roots())
    reports = [await verifier.verify(pdf) for pdf in signed]
    assert [(r.signatures[0].valid, r.signatures[0].trusted) for r in reports] == [(True, True)] * 4


async def test_a_dead_worker_fails_its_job_cleanly_and_the_pool_recovers(served_pki: ServedDevPki) -> None:
    single = SigningPool(_config(served_pki, agencies=(), identity_ca=None), workers=1)
    try:
        await single.start()
        assert single._executor is not None
        (worker,) = single._executor._processes.values()  # type: ignore[attr-defined]
        os.kill(worker.pid, signal.SIGKILL)
        await asyncio.to_thread(worker.join)

        with pytest.raises(SignerUnavailable, match="worker stopped"):
            await single.seal(MINIMAL_PDF.read_bytes(), SignRequest())
        signed = await single.seal(MINIMAL_PDF.read_bytes(), SignRequest())
    finally:
        await single.aclose()

    assert (await PdfVerifier(served_pki.pki.trust_roots()).verify(signed)).signatures[0].valid


async def test_workers_that_cannot_open_their_keys_fail_at_start(served_pki: ServedDevPki, tmp_path: Path) -> None:
    missing = KeyFileSpec(tmp_path / "missing.key.pem", served_pki.pki.seal_cert_path)
    broken = SigningPool(_config(served_pki, seal=missing), workers=1)
    try:
        with pytest.raises(SignerUnavailable, match="could not start"):
            await broken.start()
    finally:
        await broken.aclose()
