"""The PKCS#11 signer back end (HSMs, SoftHSM2): the private key never leaves the token."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

from asn1crypto import x509
from cryptography.exceptions import InvalidSignature
from pkcs11.exceptions import PKCS11Error
from pyhanko.sign.pkcs11 import PKCS11Signer
from pyhanko_certvalidator.sig_validate import DefaultSignatureValidator

from ._certs import CertificateLike, to_asn1, to_asn1_all
from ._errors import SignerUnavailable
from ._pkcs11_session import SignatureMismatch, TokenSession
from ._signers import DocumentSigner

__all__ = ("Pkcs11Signer",)


class Pkcs11Signer(DocumentSigner):
    """A signer whose key lives in a PKCS#11 token; the session stays open until :meth:`close`.

    After a token failure the session is opened again (see :class:`TokenSession`): signing answers
    SignerUnavailable while the token is gone and works again once it is back, without a restart.
    """

    def __init__(self, signer: object, token: TokenSession, *, description: str) -> None:
        from pkcs11 import exceptions as p11_exc

        super().__init__(signer, description=description)  # type: ignore[arg-type]
        self._token = token
        self.backend_errors = (p11_exc.PKCS11Error,)

    @classmethod
    def open(
        cls,
        module_path: str,
        token_label: str,
        pin: str,
        key_label: str,
        cert_label: str | None = None,
        chain: Sequence[CertificateLike] = (),
        certificate: CertificateLike | None = None,
    ) -> Pkcs11Signer:
        """Open a session on the token and prepare to sign with one of its keys.

        Args:
            module_path: The PKCS#11 module (for example ``/usr/lib/softhsm/libsofthsm2.so``).
            token_label: Label of the token.
            pin: User PIN.
            key_label: Label of the private key object.
            cert_label: Label of the certificate object on the token (defaults to ``key_label``); ignored when
                ``certificate`` is given.
            chain: Issuing CA certificates to embed.
            certificate: The signer's certificate, when it is not stored on the token.

        Raises:
            SignerUnavailable: The module, token, key or certificate cannot be used (wrong PIN, missing object).
        """
        token = TokenSession.login(module_path, token_label, pin)
        try:
            cert = (
                to_asn1(certificate)
                if certificate is not None
                else _certificate_on_token(token.current(), cert_label or key_label)
            )
            signer = _RenewingPkcs11Signer(
                token,
                key_label=key_label,
                signing_cert=cert,
                ca_chain=to_asn1_all(chain),
                # SoftHSM2 (and many HSMs) only offer raw ECDSA: hash in software, sign on the token.
                use_raw_mechanism=cert.public_key.algorithm == "ec",
            )
        except Exception:
            token.close()
            raise
        return cls(signer, token, description=f"PKCS#11 token {token_label!r} key {key_label!r}")

    def close(self) -> None:
        """Close the PKCS#11 session."""
        self._token.close()


class _RenewingPkcs11Signer(PKCS11Signer):
    """pyHanko's PKCS#11 signer, one signature at a time (a PKCS#11 session runs one operation at a time), on
    the token's current session: after a token failure it signs through a signer built on the fresh session.

    Each signature made on the token is checked against the certificate before it is used (after another user
    of the module re-initialised it, a stale handle number could name another object): a mismatch counts as a
    token failure.
    """

    def __init__(self, token: TokenSession, **kwargs: Any) -> None:
        super().__init__(token.current(), **kwargs)
        self._token = token
        self._kwargs = kwargs
        self._one_at_a_time = threading.Lock()
        self._on_session: tuple[Any, PKCS11Signer] | None = None

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if dry_run:  # a size estimate: the token is not used
            return await super().async_sign_raw(data, digest_algorithm, dry_run)
        await asyncio.to_thread(self._one_at_a_time.acquire)
        try:
            session = await asyncio.to_thread(self._token.current)
            try:
                return await self._sign_on(session, data, digest_algorithm)
            except PKCS11Error as exc:
                session = await asyncio.to_thread(self._token.failed, session, exc)
            try:
                return await self._sign_on(session, data, digest_algorithm)
            except PKCS11Error as exc:
                self._token.failed_again(session, exc)
        finally:
            self._one_at_a_time.release()

    async def _sign_on(self, session: Any, data: bytes, digest_algorithm: str) -> bytes:
        """Sign with pyHanko's signer on ``session`` (it looks the key up on its first use) and check the result.

        Raises:
            PKCS11Error: The token failed, or its signature does not match the certificate (SignatureMismatch).
        """
        if self._on_session is None or self._on_session[0] is not session:
            self._on_session = (session, PKCS11Signer(session, **self._kwargs))
        signature = await self._on_session[1].async_sign_raw(data, digest_algorithm)
        cert = self.signing_cert
        assert cert is not None  # set at construction
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        try:
            DefaultSignatureValidator().validate_signature(signature, data, cert.public_key, mechanism)
        except (InvalidSignature, ValueError) as exc:
            raise SignatureMismatch("the token's signature does not match the signing certificate") from exc
        return signature


def _certificate_on_token(session: object, label: str) -> x509.Certificate:
    from pkcs11 import Attribute, ObjectClass

    objects = list(
        session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.LABEL: label})  # type: ignore[attr-defined]
    )
    if len(objects) != 1:
        raise SignerUnavailable("The signing certificate was not found on the token.")
    return to_asn1(bytes(objects[0][Attribute.VALUE]))
