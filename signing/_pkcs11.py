"""The PKCS#11 signer back end (HSMs, SoftHSM2): the private key never leaves the token."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Sequence
from typing import Any

from asn1crypto import x509

from ._certs import CertificateLike, to_asn1, to_asn1_all
from ._errors import SignerUnavailable
from ._signers import DocumentSigner

__all__ = ("Pkcs11Signer",)


class Pkcs11Signer(DocumentSigner):
    """A signer whose key lives in a PKCS#11 token; the session stays open until :meth:`close`."""

    def __init__(self, signer: object, session: object, *, description: str) -> None:
        from pkcs11 import exceptions as p11_exc

        super().__init__(signer, description=description)  # type: ignore[arg-type]
        self._session = session
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
        session = _open_session(module_path, token_label, pin)
        try:
            cert = to_asn1(certificate) if certificate is not None else _certificate_on_token(
                session, cert_label or key_label
            )
            signer = _serialised_signer_class()(
                session,
                key_label=key_label,
                signing_cert=cert,
                ca_chain=to_asn1_all(chain),
                # SoftHSM2 (and many HSMs) only offer raw ECDSA: hash in software, sign on the token.
                use_raw_mechanism=cert.public_key.algorithm == "ec",
            )
        except Exception:
            session.close()
            raise
        return cls(signer, session, description=f"PKCS#11 token {token_label!r} key {key_label!r}")

    def close(self) -> None:
        """Close the PKCS#11 session."""
        from pkcs11 import exceptions as p11_exc

        # already closed or token gone: nothing left to release
        with contextlib.suppress(p11_exc.PKCS11Error):
            self._session.close()  # type: ignore[attr-defined]


def _open_session(module_path: str, token_label: str, pin: str) -> Any:
    from pkcs11 import exceptions as p11_exc
    from pyhanko.config.pkcs11 import TokenCriteria
    from pyhanko.sign import pkcs11 as hanko_p11

    criteria = TokenCriteria(label=token_label)
    try:
        try:
            return hanko_p11.open_pkcs11_session(module_path, token_criteria=criteria, user_pin=pin)
        except p11_exc.UserAlreadyLoggedIn:
            # PKCS#11 login state is per process: the key provider (or another signer) on the same token
            # already logged in, and every new session shares that login.
            return hanko_p11.open_pkcs11_session(module_path, token_criteria=criteria, user_pin=None)
    except (p11_exc.PKCS11Error, OSError, RuntimeError) as exc:
        raise SignerUnavailable("The PKCS#11 token could not be opened.") from exc


def _serialised_signer_class() -> type:
    """pyHanko's PKCS#11 signer with one signature at a time: a PKCS#11 session runs one operation at a time."""
    from pyhanko.sign.pkcs11 import PKCS11Signer

    class SerialisedPkcs11Signer(PKCS11Signer):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            self._one_at_a_time = threading.Lock()

        async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
            await asyncio.to_thread(self._one_at_a_time.acquire)
            try:
                return await super().async_sign_raw(data, digest_algorithm, dry_run)
            finally:
                self._one_at_a_time.release()

    return SerialisedPkcs11Signer


def _certificate_on_token(session: object, label: str) -> x509.Certificate:
    from pkcs11 import Attribute, ObjectClass

    objects = list(
        session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.LABEL: label})  # type: ignore[attr-defined]
    )
    if len(objects) != 1:
        raise SignerUnavailable("The signing certificate was not found on the token.")
    return to_asn1(bytes(objects[0][Attribute.VALUE]))
