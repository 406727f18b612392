"""In-process PKI responders: an RFC 3161 timestamp authority, an RFC 6960 OCSP responder and CRLs.

Each takes DER in and gives DER out, so any HTTP framework can serve it. Every time they write is truncated to
whole seconds: poppler/NSS reject OCSP responses whose times have fractional seconds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable, Collection, Mapping

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from pyhanko.sign.general import as_signing_certificate_v2
from pyhanko.sign.timestamps import TimeStamper

from ._ca import CaKey, sign_crl, sign_ocsp_response

__all__ = (
    "TIMESTAMP_POLICY_OID",
    "CrlIssuer",
    "LocalTimeStamper",
    "OcspResponder",
    "TimestampAuthority",
    "whole_seconds_now",
)

TIMESTAMP_POLICY_OID = "2.25.311583687499604837951402171481253351861.3"
"""The TSA policy of the development timestamp authority."""

_TSA_DIGESTS = {"sha256": 32, "sha384": 48, "sha512": 64}
Clock = Callable[[], dt.datetime]


def whole_seconds_now() -> dt.datetime:
    """The current UTC time without fractional seconds."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


class TimestampAuthority:
    """An RFC 3161 timestamp authority: ``TimeStampReq`` DER in, ``TimeStampResp`` DER out.

    Args:
        certificate: The TSA certificate (extended key usage ``timeStamping``, critical).
        key: The TSA's signing key.
        chain: Issuing CA certificates to include when the request asks for certificates.
        clock: Source of the current time (tests move it).
    """

    def __init__(
        self,
        certificate: x509.Certificate,
        key: CaKey,
        chain: Collection[x509.Certificate] = (),
        clock: Clock = whole_seconds_now,
    ) -> None:
        self._cert = _asn1(certificate)
        self._chain = [_asn1(c) for c in chain]
        self._key = key
        self._clock = clock
        self._sig_algo = "sha256_ecdsa" if isinstance(key.public_key(), ec.EllipticCurvePublicKey) else ("sha256_rsa")

    def respond(self, request_der: bytes) -> bytes:
        """Answer one timestamp request; malformed or unsupported requests get a rejection response."""
        try:
            request = tsp.TimeStampReq.load(request_der, strict=True)
            imprint = request["message_imprint"]
            algorithm = imprint["hash_algorithm"]["algorithm"].native
            digest = imprint["hashed_message"].native
            if request["version"].native != "v1":
                return _rejection("bad_request")
        except (ValueError, TypeError, KeyError):
            return _rejection("bad_data_format")
        if _TSA_DIGESTS.get(algorithm) != len(digest):
            return _rejection("bad_alg")
        token = self._token(request)
        return bytes(tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token}).dump())

    def _token(self, request: tsp.TimeStampReq) -> cms.ContentInfo:
        info: dict[str, object] = {
            "version": "v1",
            "policy": TIMESTAMP_POLICY_OID,
            "message_imprint": request["message_imprint"],
            "serial_number": secrets.randbits(127),
            "gen_time": self._clock().replace(microsecond=0),
            "accuracy": {"seconds": 1},
            "tsa": asn1_x509.GeneralName(name="directory_name", value=self._cert.subject),
        }
        if request["nonce"].native is not None:
            info["nonce"] = request["nonce"]
        tst_info = tsp.TSTInfo(info).dump()
        signed_attrs = cms.CMSAttributes(
            [
                cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
                cms.CMSAttribute({"type": "message_digest", "values": [hashlib.sha256(tst_info).digest()]}),
                cms.CMSAttribute({"type": "signing_certificate_v2", "values": [as_signing_certificate_v2(self._cert)]}),
            ]
        )
        signer_info = cms.SignerInfo(
            {
                "version": "v1",
                "sid": {
                    "issuer_and_serial_number": {"issuer": self._cert.issuer, "serial_number": self._cert.serial_number}
                },
                "digest_algorithm": {"algorithm": "sha256"},
                "signed_attrs": signed_attrs,
                "signature_algorithm": {"algorithm": self._sig_algo},
                "signature": self._key.sign(signed_attrs.dump()),
            }
        )
        signed_data: dict[str, object] = {
            "version": "v3",
            "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
            "encap_content_info": {"content_type": "tst_info", "content": core.ParsableOctetString(tst_info)},
            "signer_infos": [signer_info],
        }
        if request["cert_req"].native:
            signed_data["certificates"] = [self._cert, *self._chain]
        return cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(signed_data)})


class LocalTimeStamper(TimeStamper):
    """pyHanko's timestamp client answered by a :class:`TimestampAuthority` in this process (no HTTP; the answer
    costs well under a millisecond, so it is given on the caller's thread)."""

    def __init__(self, authority: TimestampAuthority) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._authority = authority

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        return tsp.TimeStampResp.load(self._authority.respond(req.dump()))


class _RejectedTimeStampResp(core.Sequence):  # type: ignore[misc]
    """``TimeStampResp`` without its token (asn1crypto's class does not mark the token optional)."""

    _fields = [("status", tsp.PKIStatusInfo)]


def _rejection(failure: str) -> bytes:
    status = tsp.PKIStatusInfo({"status": "rejection", "fail_info": tsp.PKIFailureInfo({failure})})
    return bytes(_RejectedTimeStampResp({"status": status}).dump())


class OcspResponder:
    """An OCSP responder for the certificates one CA issued, signed by the CA itself.

    Every serial the CA could have issued is answered ``good`` unless it is in the revocation list; requests about
    another CA's certificates are answered ``unauthorized``.

    Args:
        ca_certificate: The CA whose certificates this responder speaks for.
        key: The CA's key.
        revoked: Returns the revoked serial numbers and their revocation times (read on every request).
        validity: How long a response may be relied on (``nextUpdate - thisUpdate``).
        clock: Source of the current time.
    """

    def __init__(
        self,
        ca_certificate: x509.Certificate,
        key: CaKey,
        revoked: Callable[[], Mapping[int, dt.datetime]] = dict,
        validity: dt.timedelta = dt.timedelta(hours=12),
        clock: Clock = whole_seconds_now,
    ) -> None:
        self._ca = ca_certificate
        self._key = key
        self._revoked = revoked
        self._validity = validity
        self._clock = clock
        spki = _asn1(ca_certificate).public_key
        self._key_hashes = {
            name: hashlib.new(name, spki["public_key"].contents[1:]).digest() for name in ("sha1", "sha256")
        }

    def respond(self, request_der: bytes) -> bytes:
        """Answer one OCSP request (a single certificate, as every client we know sends)."""
        try:
            request = ocsp.load_der_ocsp_request(request_der)
            algorithm = request.hash_algorithm
        except (ValueError, UnsupportedAlgorithm):
            return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        if self._key_hashes.get(algorithm.name) != request.issuer_key_hash:
            return _unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
        now = self._clock().replace(microsecond=0)
        revoked_at = self._revoked().get(request.serial_number)
        status = ocsp.OCSPCertStatus.GOOD if revoked_at is None else ocsp.OCSPCertStatus.REVOKED
        builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
            issuer_name_hash=request.issuer_name_hash,
            issuer_key_hash=request.issuer_key_hash,
            serial_number=request.serial_number,
            algorithm=algorithm,
            cert_status=status,
            this_update=now,
            next_update=now + self._validity,
            revocation_time=None if revoked_at is None else revoked_at.replace(microsecond=0),
            revocation_reason=None,
        )
        for extension in request.extensions:
            if isinstance(extension.value, x509.OCSPNonce):
                builder = builder.add_extension(extension.value, critical=False)
        return sign_ocsp_response(builder, self._key, self._ca)


def _unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(serialization.Encoding.DER)


class CrlIssuer:
    """A CA's certificate revocation list, freshly signed on every call.

    Args:
        ca_certificate: The issuing CA.
        key: The CA's key.
        revoked: Returns the revoked serial numbers and their revocation times.
        validity: ``nextUpdate - thisUpdate``.
        clock: Source of the current time.
    """

    def __init__(
        self,
        ca_certificate: x509.Certificate,
        key: CaKey,
        revoked: Callable[[], Mapping[int, dt.datetime]] = dict,
        validity: dt.timedelta = dt.timedelta(hours=12),
        clock: Clock = whole_seconds_now,
    ) -> None:
        self._ca = ca_certificate
        self._key = key
        self._revoked = revoked
        self._validity = validity
        self._clock = clock

    def current(self) -> bytes:
        """The current CRL, DER."""
        now = self._clock().replace(microsecond=0)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self._ca.subject)
            .last_update(now)
            .next_update(now + self._validity)
            .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False)
        )
        for serial, when in sorted(self._revoked().items()):
            entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when.replace(microsecond=0))
            builder = builder.add_revoked_certificate(entry.build())
        return sign_crl(builder, self._key)
