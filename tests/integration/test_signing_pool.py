"""Signing in a bounded pool of worker processes: the seal, agency seals, personal signatures and LTA renewal
work from workers that open their own keys, token sessions and HTTP sessions; a full queue says Busy. A personal
signature's certificate is issued and handed over in this process before the worker signs with its key."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import time
from collections.abc import AsyncIterator
from io import BytesIO
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils.reader import PdfFileReader

from signing import (
    Busy,
    CaUrls,
    DevPki,
    IdentityCa,
    IdentitySigner,
    KeyFileSpec,
    PadesLevel,
    PdfVerifier,
    PeriodicCrl,
    Pkcs11Spec,
    SignerUnavailable,
    SigningPool,
    SigningWorkerConfig,
    SignRequest,
    TimestampAuthoritySpec,
    TimestampUnavailable,
    UnknownAgency,
    VerifiedIdentity,
    archival_state,
    check_sealed_by,
)
from signing._issuance import Profile, issue, name
from tests.services.devpki_http import ServedDevPki
from tests.services.pki import MINIMAL_PDF
from tests.services.softhsm import SoftHsmToken
from tests.support.pool_jobs import mark_then_sleep

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

    person = IdentitySigner(IdentityCa.from_dev_pki(served_pki.pki), pool)
    sealed, agency, personal, archived = await asyncio.gather(
        pool.seal(pdf, SignRequest(level=PadesLevel.B_T)),
        pool.seal_as("Tax Office", pdf, SignRequest(level=PadesLevel.B_T)),
        person.sign(pdf, ALICE, SignRequest(level=PadesLevel.B_LT)),
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


async def test_a_personal_certificate_is_handed_over_before_a_worker_signs_with_its_key(
    pool: SigningPool, served_pki: ServedDevPki
) -> None:
    signer = IdentitySigner(IdentityCa.from_dev_pki(served_pki.pki), pool)
    logged: list[bytes] = []

    async def log(der: bytes) -> None:
        assert pool.in_flight == 1  # the place is held while the certificate is logged, no job has run yet
        logged.append(der)

    result = await signer.sign(MINIMAL_PDF.read_bytes(), ALICE, SignRequest(level=PadesLevel.B_T), on_issue=log)

    assert logged == [result.certificate_der]
    report = await PdfVerifier(served_pki.pki.trust_roots()).verify(result.pdf)
    assert [(s.intact, s.valid, s.trusted) for s in report.signatures] == [(True, True, True)]
    assert report.signatures[0].timestamp is not None
    assert result.not_before <= result.timestamp <= result.not_after


async def test_a_full_pool_refuses_a_person_before_a_certificate_is_issued(served_pki: ServedDevPki) -> None:
    single = SigningPool(_config(served_pki, agencies=()), workers=1, max_queue=0, retry_after=4)
    signer = IdentitySigner(IdentityCa.from_dev_pki(served_pki.pki), single)
    issued: list[bytes] = []

    async def log(der: bytes) -> None:
        issued.append(der)

    try:
        with single.admit(), pytest.raises(Busy) as refused:  # the only place is taken
            await signer.sign(MINIMAL_PDF.read_bytes(), ALICE, SignRequest(level=PadesLevel.B_T), on_issue=log)
        assert issued == []
        signed = await signer.sign(MINIMAL_PDF.read_bytes(), ALICE, SignRequest(level=PadesLevel.B_T), on_issue=log)
    finally:
        await single.aclose()

    assert refused.value.retry_after == 4
    assert issued == [signed.certificate_der]


async def test_a_job_whose_caller_gave_up_keeps_its_place_until_the_worker_is_done(
    served_pki: ServedDevPki, tmp_path: Path
) -> None:
    single = SigningPool(_config(served_pki, agencies=()), workers=1, max_queue=0)
    started = tmp_path / "started"
    try:
        await single.start()
        job = asyncio.create_task(single._submit(mark_then_sleep, str(started), 5.0))
        deadline = time.monotonic() + 60
        while not started.exists():  # wait until the worker runs the job
            assert time.monotonic() < deadline, "the worker never started the job"
            await asyncio.sleep(0.01)
        job.cancel()  # the caller gives up (a client went away); the worker cannot be interrupted
        with pytest.raises(asyncio.CancelledError):
            await job

        assert single.in_flight == 1
        with pytest.raises(Busy):  # the running job still holds the only place
            await single.seal(MINIMAL_PDF.read_bytes(), SignRequest())
    finally:
        await single.aclose()  # waits for the job
    assert single.in_flight == 0


async def test_workers_answer_timestamps_with_a_local_tsa_key(served_pki: ServedDevPki) -> None:
    pki = served_pki.pki
    local = TimestampAuthoritySpec(pki.cert_path("tsa"), pki.key_path("tsa"), (pki.issuing_cert_path,))
    # the TSA's URL leads nowhere: only the workers' own copy of the TSA can answer
    config = _config(served_pki, agencies=(), tsa_url="http://127.0.0.1:9/tsa", timestamp_authority=local)
    offline = SigningPool(config, workers=1)
    try:
        person = await IdentitySigner(IdentityCa.from_dev_pki(pki), offline).sign(
            MINIMAL_PDF.read_bytes(), ALICE, SignRequest(level=PadesLevel.B_T)
        )
    finally:
        await offline.aclose()

    report = await PdfVerifier(pki.trust_roots()).verify(person.pdf)
    assert [(s.valid, s.trusted) for s in report.signatures] == [(True, True)]
    assert report.signatures[0].timestamp is not None


@pytest.mark.hsm
async def test_workers_answer_timestamps_with_a_tsa_key_in_a_token(
    served_pki: ServedDevPki, softhsm_token: SoftHsmToken, tmp_path: Path
) -> None:
    pki = served_pki.pki
    public_key = _token_key(softhsm_token, "pool-tsa")
    cert_path = tmp_path / "pool-tsa.pem"
    cert_path.write_bytes(
        _issued(pki, "HSM Pool TSA", public_key, Profile.TSA).public_bytes(serialization.Encoding.PEM)
    )
    key = Pkcs11Spec(softhsm_token.module_path, softhsm_token.token_label, softhsm_token.pin, "pool-tsa")
    local = TimestampAuthoritySpec(cert_path, key, (pki.issuing_cert_path,))
    config = _config(served_pki, agencies=(), tsa_url=None, timestamp_authority=local)
    hsm_tsa = SigningPool(config, workers=2)
    signer = IdentitySigner(IdentityCa.from_dev_pki(pki), hsm_tsa)
    try:
        signed = await asyncio.gather(
            *(signer.sign(MINIMAL_PDF.read_bytes(), ALICE, SignRequest(level=PadesLevel.B_T)) for _ in range(3))
        )
    finally:
        await hsm_tsa.aclose()

    verifier = PdfVerifier(pki.trust_roots())
    for result in signed:
        (sig,) = (await verifier.verify(result.pdf)).signatures
        assert (sig.valid, sig.trusted) == (True, True)
        assert sig.timestamp is not None
        assert "HSM Pool TSA" in str(sig.timestamp)


async def test_workers_embed_the_crls_the_service_publishes_with_each_job(served_pki: ServedDevPki) -> None:
    pki = served_pki.pki
    dev = IdentityCa.from_dev_pki(pki)
    # the certificates name a CRL that cannot be fetched: only the list the job carries can answer (hard-fail)
    ca = IdentityCa(dev.certificate, dev.key, dev.chain, CaUrls(crl="http://127.0.0.1:9/identity-ca.crl"))
    published = PeriodicCrl(dev.certificate, dev.key)
    asked: list[int] = []

    def known_crls() -> list[bytes]:
        asked.append(1)
        return [published.current().der]

    workers = SigningPool(_config(served_pki, agencies=(), allow_fetching=True), workers=1, known_crls=known_crls)
    try:
        person = await IdentitySigner(ca, workers).sign(
            MINIMAL_PDF.read_bytes(), ALICE, SignRequest(level=PadesLevel.B_LT)
        )
    finally:
        await workers.aclose()

    assert asked == [1]  # read for the job, in the service
    dss = PdfFileReader(BytesIO(person.pdf)).root["/DSS"]
    assert published.current().der in [crl.get_object().data for crl in dss["/CRLs"]]
    (sig,) = (await PdfVerifier(pki.trust_roots(), allow_fetching=False).verify(person.pdf)).signatures
    assert (sig.valid, sig.trusted, sig.revocation) == (True, True, "good"), sig.verdict_reason


async def test_a_tsa_that_is_down_leaves_nothing_signed_in_a_worker(served_pki: ServedDevPki) -> None:
    down = SigningPool(_config(served_pki, agencies=(), tsa_url="http://127.0.0.1:9/tsa"), workers=1)
    signer = IdentitySigner(IdentityCa.from_dev_pki(served_pki.pki), down)
    try:
        with pytest.raises(TimestampUnavailable):
            await signer.sign(MINIMAL_PDF.read_bytes(), ALICE, SignRequest(level=PadesLevel.B_T))
    finally:
        await down.aclose()
    assert down.in_flight == 0


def _token_key(token: SoftHsmToken, label: str) -> ec.EllipticCurvePublicKey:
    """A new P-256 key pair in the token (private key not extractable); its public key."""
    from pkcs11 import Attribute, KeyType
    from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

    with token.open_session() as session:
        params = session.create_domain_parameters(
            KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True
        )
        public, _ = params.generate_keypair(
            store=True,
            label=label,
            private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False, Attribute.SIGN: True},
        )
        key = serialization.load_der_public_key(encode_ec_public_key(public))
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


def _issued(pki: DevPki, common_name: str, public_key: ec.EllipticCurvePublicKey, profile: Profile) -> x509.Certificate:
    """A certificate of the development PKI's issuing CA for a key in a token."""
    now = dt.datetime.now(dt.UTC)
    return issue(
        subject=name(common_name),
        public_key=public_key,
        issuer=pki.certificate("issuing").subject,
        issuer_key=pki.ca_key("issuing"),
        profile=profile,
        not_before=now - dt.timedelta(minutes=5),
        not_after=now + dt.timedelta(days=1),
        urls=pki.urls("issuing"),
    )


@pytest.mark.hsm
async def test_each_worker_opens_its_own_token_session(
    served_pki: ServedDevPki, softhsm_token: SoftHsmToken, tmp_path: Path
) -> None:
    pki = served_pki.pki
    cert = _issued(pki, "HSM Pool Seal", _token_key(softhsm_token, "pool-seal"), Profile.SEAL)
    cert_path = tmp_path / "pool-seal.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    spec = Pkcs11Spec(
        softhsm_token.module_path,
        softhsm_token.token_label,
        softhsm_token.pin,
        "pool-seal",
        cert_path,
        (pki.issuing_cert_path,),
    )
    assert softhsm_token.pin not in repr(spec)
    hsm_pool = SigningPool(_config(served_pki, seal=spec, agencies=()), workers=2)
    try:
        await hsm_pool.start()
        signed = await asyncio.gather(*(hsm_pool.seal(MINIMAL_PDF.read_bytes(), SignRequest()) for _ in range(4)))
    finally:
        await hsm_pool.aclose()

    verifier = PdfVerifier(pki.trust_roots())
    reports = [await verifier.verify(pdf) for pdf in signed]
    assert [(r.signatures[0].valid, r.signatures[0].trusted) for r in reports] == [(True, True)] * 4


async def test_a_dead_worker_fails_its_job_cleanly_and_the_pool_recovers(served_pki: ServedDevPki) -> None:
    single = SigningPool(_config(served_pki, agencies=()), workers=1)
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
