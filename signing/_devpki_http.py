"""The development PKI's responders behind one dispatch function, for the service to mount as HTTP routes.

Routes, relative to the mount point (the PKI's base URL, for example ``<public URL>/dev-pki``):

============================  ======  =====================================  ==============================
path                          method  body                                   answer (content type)
============================  ======  =====================================  ==============================
``tsa``                       POST    RFC 3161 ``TimeStampReq`` (DER)        ``application/timestamp-reply``
``ocsp/<ca>``                 POST    OCSP request (DER)                     ``application/ocsp-response``
``ocsp/<ca>/<base64 request>``GET     —                                      ``application/ocsp-response``
``crl/<ca>.crl``              GET     —                                      ``application/pkix-crl``
``ca/<ca>.cer``               GET     —                                      ``application/pkix-cert``
============================  ======  =====================================  ==============================

``<ca>`` is ``root``, ``issuing`` or ``identity``. Every answer is DER; requests are small (refuse bodies over
:data:`MAX_REQUEST_BYTES`). The work is CPU-bound signing of a few hundred bytes (well under a millisecond).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from cryptography.hazmat.primitives import serialization

from ._devpki import DevPki
from ._responders import Clock, CrlIssuer, OcspResponder, TimestampAuthority, whole_seconds_now

__all__ = ("MAX_REQUEST_BYTES", "DevPkiAnswer", "DevPkiResponders")

MAX_REQUEST_BYTES = 64 * 1024
_CAS = ("root", "issuing", "identity")


@dataclass(frozen=True)
class DevPkiAnswer:
    """One HTTP answer of the development PKI.

    Attributes:
        status: HTTP status (200, or 404/405/413 for requests that do not fit a route).
        content_type: The media type of ``body``.
        body: DER (or a short plain-text reason for errors).
    """

    status: int
    content_type: str
    body: bytes


_NOT_FOUND = DevPkiAnswer(404, "text/plain", b"not found")
_NOT_ALLOWED = DevPkiAnswer(405, "text/plain", b"method not allowed")


class DevPkiResponders:
    """The timestamp authority, OCSP responders, CRLs and CA certificates of a :class:`DevPki`.

    Args:
        pki: The development PKI (its keys are loaded once, here).
        clock: Source of the current time (tests move it forward); whole seconds are used.
        response_validity: ``nextUpdate - thisUpdate`` of OCSP responses and CRLs.
    """

    def __init__(
        self, pki: DevPki, clock: Clock = whole_seconds_now, response_validity: dt.timedelta = dt.timedelta(hours=12)
    ) -> None:
        self._pki = pki
        certs = {ca: pki.certificate(ca) for ca in _CAS}
        keys = {ca: pki.ca_key(ca) for ca in _CAS}
        self._ca_der = {ca: cert.public_bytes(serialization.Encoding.DER) for ca, cert in certs.items()}
        self.timestamp_authority = TimestampAuthority(
            pki.certificate("tsa"), pki.ca_key("tsa"), chain=(certs["issuing"],), clock=clock
        )
        self._ocsp = {
            ca: OcspResponder(certs[ca], keys[ca], self._revoked_by(ca), response_validity, clock) for ca in _CAS
        }
        self._crl = {ca: CrlIssuer(certs[ca], keys[ca], self._revoked_by(ca), response_validity, clock) for ca in _CAS}

    def _revoked_by(self, ca: str) -> Callable[[], Mapping[int, dt.datetime]]:
        return lambda: self._pki.revoked().get(ca, {})

    def timestamp(self, request_der: bytes) -> bytes:
        """Answer an RFC 3161 timestamp request (DER in, DER out)."""
        return self.timestamp_authority.respond(request_der)

    def ocsp(self, ca: str, request_der: bytes) -> bytes:
        """Answer an OCSP request about a certificate issued by `ca` (DER in, DER out)."""
        return self._ocsp[ca].respond(request_der)

    def crl(self, ca: str) -> bytes:
        """The current CRL of `ca` (DER)."""
        return self._crl[ca].current()

    def ca_certificate(self, ca: str) -> bytes:
        """The certificate of `ca` (DER)."""
        return self._ca_der[ca]

    def answer(self, method: str, path: str, body: bytes = b"") -> DevPkiAnswer:
        """Dispatch one HTTP request; `path` is relative to the mount point (``tsa``, ``ocsp/issuing``, ...)."""
        if len(body) > MAX_REQUEST_BYTES:
            return DevPkiAnswer(413, "text/plain", b"request too large")
        parts = path.strip("/").split("/", 2)
        method = method.upper()
        if parts == ["tsa"]:
            return (
                DevPkiAnswer(200, "application/timestamp-reply", self.timestamp(body))
                if method == "POST"
                else (_NOT_ALLOWED)
            )
        if len(parts) >= 2 and parts[0] == "ocsp" and parts[1] in _CAS:
            return self._answer_ocsp(method, parts, body)
        if len(parts) == 2 and method in ("GET", "HEAD"):
            kind, file = parts
            if kind == "crl" and file.removesuffix(".crl") in _CAS:
                return DevPkiAnswer(200, "application/pkix-crl", self.crl(file.removesuffix(".crl")))
            if kind == "ca" and file.removesuffix(".cer") in _CAS:
                return DevPkiAnswer(200, "application/pkix-cert", self.ca_certificate(file.removesuffix(".cer")))
        return _NOT_FOUND

    def _answer_ocsp(self, method: str, parts: list[str], body: bytes) -> DevPkiAnswer:
        if method == "POST" and len(parts) == 2:
            return DevPkiAnswer(200, "application/ocsp-response", self.ocsp(parts[1], body))
        if method == "GET" and len(parts) == 3:  # RFC 6960 appendix A.1: base64 of the DER request, URL-encoded
            try:
                request = base64.b64decode(unquote(parts[2]), validate=True)
            except (binascii.Error, ValueError):
                request = b""
            return DevPkiAnswer(200, "application/ocsp-response", self.ocsp(parts[1], request))
        return _NOT_ALLOWED
