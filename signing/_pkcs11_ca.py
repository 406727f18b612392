"""A CA key in a PKCS#11 token (HSM, SoftHSM2): certificates and responses are signed on the token.

The session is per process (PKCS#11 login state is per process): in a worker pool, open the key in each worker.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from ._ca import PrivateKey, PublicKey
from ._errors import SignerUnavailable
from ._pkcs11_session import SignatureMismatch, TokenSession

__all__ = ("Pkcs11CaKey",)


class Pkcs11CaKey:
    """A CA's private key on a PKCS#11 token; ECDSA (P-256, raw mechanism) or RSA PKCS#1 v1.5, with SHA-256.

    Build one with :meth:`open`; :meth:`close` ends the session. After a token failure the session is opened
    again (see :class:`TokenSession`): signing answers SignerUnavailable while the token is gone, and each
    signature is checked against the certificate's public key before it is returned (a mismatch counts as a
    token failure).
    """

    def __init__(self, token: TokenSession, key_label: str, public_key: PublicKey) -> None:
        self._token = token
        self._key_label = key_label
        self._public = public_key
        self._lock = threading.Lock()  # a PKCS#11 session runs one operation at a time
        self._key_on: tuple[Any, Any] | None = None  # (session, key handle found in it)
        self._placeholder: PrivateKey | None = None

    @classmethod
    def open(
        cls, module_path: str, token_label: str, pin: str, key_label: str, certificate: x509.Certificate
    ) -> Pkcs11CaKey:
        """Open a session and find the private key labelled `key_label`.

        Args:
            module_path: The PKCS#11 module.
            token_label: The token's label.
            pin: The user PIN.
            key_label: Label of the CA's private key on the token.
            certificate: The CA's certificate (its public key must match the token's key).

        Raises:
            SignerUnavailable: The token or key cannot be used.
        """
        from pkcs11 import exceptions as p11_exc

        public = certificate.public_key()
        if not isinstance(public, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
            raise SignerUnavailable("Only RSA and EC CA keys are supported.")
        token = TokenSession.login(module_path, token_label, pin)
        ca_key = cls(token, key_label, public)
        try:
            ca_key._key(token.current())
        except (p11_exc.PKCS11Error, SignerUnavailable) as exc:
            token.close()
            raise SignerUnavailable("The CA key was not found on the token.") from exc
        try:
            ca_key._sign_on(token.current(), b"does the key match the certificate?")
        except p11_exc.PKCS11Error as exc:
            token.close()
            raise SignerUnavailable("The CA key on the token does not match the certificate.") from exc
        return ca_key

    def public_key(self) -> PublicKey:
        return self._public

    def sign(self, data: bytes) -> bytes:
        """Sign ``data`` on the token (SHA-256).

        Raises:
            SignerUnavailable: The token fails (and cannot be logged in to again now), or its signature does not
                match the certificate.
        """
        with self._lock:
            return self._token.run(lambda session: self._sign_on(session, data))

    def _sign_on(self, session: Any, data: bytes) -> bytes:
        """Sign on ``session`` and check the signature against the certificate's public key.

        Raises:
            PKCS11Error: The token failed, or its signature does not match (SignatureMismatch).
        """
        from pkcs11 import Mechanism

        key = self._key(session)
        try:
            if isinstance(self._public, ec.EllipticCurvePublicKey):
                # Many tokens (SoftHSM2 among them) offer only raw ECDSA: hash here, sign the digest there.
                raw = key.sign(hashlib.sha256(data).digest(), mechanism=Mechanism.ECDSA)
                half = len(raw) // 2
                r, s = int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
                signature = encode_dss_signature(r, s)
                self._public.verify(signature, data, ec.ECDSA(hashes.SHA256()))
                return signature
            signature = bytes(key.sign(data, mechanism=Mechanism.SHA256_RSA_PKCS))
            self._public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
            return signature
        except InvalidSignature as exc:
            raise SignatureMismatch("the token's signature does not match the CA certificate") from exc

    def _key(self, session: Any) -> Any:
        """The private key's handle in ``session`` (looked up again in a new session)."""
        from pkcs11 import Attribute, ObjectClass

        if self._key_on is None or self._key_on[0] is not session:
            key = session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=self._key_label)
            if not key[Attribute.SIGN]:
                raise SignerUnavailable("The CA key on the token cannot sign.")
            self._key_on = (session, key)
        return self._key_on[1]

    def builder_key(self) -> PrivateKey:
        # A throwaway key of the same type: cryptography's builders need one; the signature is replaced.
        if self._placeholder is None:
            if isinstance(self._public, ec.EllipticCurvePublicKey):
                self._placeholder = ec.generate_private_key(self._public.curve)
            else:
                self._placeholder = rsa.generate_private_key(65537, self._public.key_size)
        return self._placeholder

    def close(self) -> None:
        """Close the PKCS#11 session."""
        self._token.close()
