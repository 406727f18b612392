"""The development PKI's responders: OCSP, CRL and RFC 3161 answers that are well-formed, signed and whole-second."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from asn1crypto import core, tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp

from signing import DevPki, DevPkiResponders, ensure_dev_pki


@pytest.fixture
def pki(tmp_path: Path) -> DevPki:
    return ensure_dev_pki(tmp_path / "pki")


def _ocsp_request(pki: DevPki, cert: x509.Certificate, issuer: str, nonce: bytes | None = None) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(cert, pki.certificate(issuer), hashes.SHA1())
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def test_ocsp_says_good_then_revoked_with_whole_second_times_and_the_nonce(pki: DevPki) -> None:
    responders = DevPkiResponders(pki)
    seal = pki.certificate("seal")

    good = ocsp.load_der_ocsp_response(responders.ocsp("issuing", _ocsp_request(pki, seal, "issuing", b"n" * 16)))
    pki.revoke(seal)
    revoked = ocsp.load_der_ocsp_response(responders.ocsp("issuing", _ocsp_request(pki, seal, "issuing")))

    assert good.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert good.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == b"n" * 16
    assert revoked.certificate_status is ocsp.OCSPCertStatus.REVOKED
    for response in (good, revoked):
        assert response.serial_number == seal.serial_number
        times = (response.produced_at_utc, response.this_update_utc, response.next_update_utc)
        assert [t.microsecond for t in times if t is not None] == [0, 0, 0]
        issuer_key = pki.certificate("issuing").public_key()
        assert isinstance(issuer_key, ec.EllipticCurvePublicKey)
        issuer_key.verify(response.signature, response.tbs_response_bytes, ec.ECDSA(hashes.SHA256()))


def test_ocsp_refuses_to_speak_for_another_ca_and_answers_garbage_as_malformed(pki: DevPki) -> None:
    responders = DevPkiResponders(pki)
    seal = pki.certificate("seal")

    other = ocsp.load_der_ocsp_response(responders.ocsp("identity", _ocsp_request(pki, seal, "issuing")))
    junk = ocsp.load_der_ocsp_response(responders.ocsp("issuing", b"\x30\x03junk"))

    assert other.response_status is ocsp.OCSPResponseStatus.UNAUTHORIZED
    assert junk.response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_ocsp_over_get_and_unknown_routes(pki: DevPki) -> None:
    responders = DevPkiResponders(pki)
    request = base64.b64encode(_ocsp_request(pki, pki.certificate("issuing"), "root")).decode()

    answer = responders.answer("GET", f"ocsp/root/{request}")

    assert (answer.status, answer.content_type) == (200, "application/ocsp-response")
    assert ocsp.load_der_ocsp_response(answer.body).certificate_status is ocsp.OCSPCertStatus.GOOD
    assert responders.answer("GET", "ocsp/nobody").status == 404
    assert responders.answer("GET", "tsa").status == 405
    assert responders.answer("POST", "tsa", b"x" * 70_000).status == 413
    assert responders.answer("GET", "../root-ca.key.pem").status == 404


def test_crl_is_signed_by_its_ca_and_lists_revoked_certificates(pki: DevPki) -> None:
    agency = x509.load_der_x509_certificate(pki.agency_signer("Tax Office").certificate.dump())
    pki.revoke(agency)

    answer = DevPkiResponders(pki).answer("GET", "crl/issuing.crl")
    crl = x509.load_der_x509_crl(answer.body)

    assert answer.content_type == "application/pkix-crl"
    assert crl.is_signature_valid(pki.certificate("issuing").public_key())  # type: ignore[arg-type]
    assert crl.get_revoked_certificate_by_serial_number(agency.serial_number) is not None
    assert crl.last_update_utc.microsecond == 0


class _StatusOnly(core.Sequence):
    """A TimeStampResp read for its status only (asn1crypto insists on a token)."""

    _fields = [("status", tsp.PKIStatusInfo)]


def _tsq(digest: bytes, algorithm: str = "sha256", cert_req: bool = True) -> bytes:
    return tsp.TimeStampReq({
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": algorithm}, "hashed_message": digest},
        "nonce": 12345,
        "cert_req": cert_req,
    }).dump()


def test_timestamp_covers_the_imprint_with_the_nonce_and_the_tsa_certificate(pki: DevPki) -> None:
    digest = hashlib.sha256(b"document").digest()

    response = tsp.TimeStampResp.load(DevPkiResponders(pki).timestamp(_tsq(digest)))

    assert response["status"]["status"].native == "granted"
    signed_data = response["time_stamp_token"]["content"]
    info = signed_data["encap_content_info"]["content"].parsed
    assert info["message_imprint"]["hashed_message"].native == digest
    assert info["nonce"].native == 12345
    assert info["gen_time"].native.microsecond == 0
    tsa_der = pki.certificate("tsa").public_bytes(serialization.Encoding.DER)
    assert tsa_der in [c.chosen.dump() for c in signed_data["certificates"]]


@pytest.mark.parametrize(
    ("digest", "algorithm", "failure"),
    [(b"short", "sha256", "bad_alg"), (hashlib.md5(b"x").digest(), "md5", "bad_alg")],
)
def test_timestamp_rejects_weak_or_inconsistent_imprints(
    pki: DevPki, digest: bytes, algorithm: str, failure: str
) -> None:
    response = _StatusOnly.load(DevPkiResponders(pki).timestamp(_tsq(digest, algorithm)))

    assert response["status"]["status"].native == "rejection"
    assert response["status"]["fail_info"].native == {failure}
    assert response.contents == response["status"].dump()  # RFC 3161: no token with a rejection


def test_timestamp_answers_garbage_with_a_rejection(pki: DevPki) -> None:
    response = _StatusOnly.load(DevPkiResponders(pki).timestamp(b"not a request"))
    assert response["status"]["status"].native == "rejection"
