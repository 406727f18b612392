"""The test PKI services themselves: OCSP answers pdfsig/NSS can use, status per signer."""

from __future__ import annotations

import urllib.request

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from tests.services.pki import PkiServices

pytestmark = pytest.mark.pki


def _ocsp(pki: PkiServices, label: str) -> ocsp.OCSPResponse:
    cert = x509.load_pem_x509_certificate(pki.cert_path(label).read_bytes())
    issuer = x509.load_pem_x509_certificate(pki.cert_path("interm").read_bytes())
    request = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1()).build()
    http = urllib.request.Request(
        f"{pki.url}/vault/ocsp/interm",
        data=request.public_bytes(serialization.Encoding.DER),
        headers={"Content-Type": "application/ocsp-request"},
    )
    with urllib.request.urlopen(http, timeout=10) as resp:
        return ocsp.load_der_ocsp_response(resp.read())


@pytest.mark.parametrize(
    ("label", "status"), [("citizen", ocsp.OCSPCertStatus.GOOD), ("revoked", ocsp.OCSPCertStatus.REVOKED)]
)
def test_ocsp_answers_with_whole_second_times(label: str, status: ocsp.OCSPCertStatus, pki: PkiServices) -> None:
    response = _ocsp(pki, label)
    assert response.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert response.certificate_status is status
    assert response.produced_at_utc.microsecond == 0
    assert response.this_update_utc.microsecond == 0
