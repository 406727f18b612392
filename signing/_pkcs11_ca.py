"""A CA key in a PKCS#11 token (HSM, SoftHSM2): certificates and responses are signed on the token.

The session is per process (PKCS#11 login state is per process): in a worker pool, open the key in each worker.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from ._ca import PrivateKey, PublicKey
from ._errors import SignerUnavailable
from ._pkcs11 import _open_session

__all__ = ("Pkcs11CaKey",)


class Pkcs11CaKey:
    """A CA's private key on a PKCS#11 token; ECDSA (P-256, raw mechanism) or RSA PKCS#1 v1.5, with SHA-256.

    Build one with :meth:`open`; :meth:`close` ends the session.
    """

    def __init__(self, session: Any, key: Any, public_key: PublicKey) -> None:
        self._session = session
        self._key = key
        self._public = public_key
        self._lock = threading.Lock()  # a PKCS#11 session runs one operation at a time
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
        from pkcs11 import Attribute, ObjectClass
        from pkcs11 import exceptions as p11_exc

        session = _open_session(module_path, token_label, pin)
        try:
            key = session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=key_label)
            if not key[Attribute.SIGN]:
                raise SignerUnavailable("The CA key on the token cannot sign.")
        except (p11_exc.PKCS11Error, SignerUnavailable) as exc:
            session.close()
            raise SignerUnavailable("The CA key was not found on the token.") from exc
        public = certificate.public_key()
        if not isinstance(public, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
            session.close()
            raise SignerUnavailable("Only RSA and EC CA keys are supported.")
        return cls(session, key, public)

    def public_key(self) -> PublicKey:
        return self._public

    def sign(self, data: bytes) -> bytes:
        from pkcs11 import Mechanism
        from pkcs11 import exceptions as p11_exc

        try:
            with self._lock:
                if isinstance(self._public, ec.EllipticCurvePublicKey):
                    # Many tokens (SoftHSM2 among them) offer only raw ECDSA: hash here, sign the digest there.
                    raw = self._key.sign(hashlib.sha256(data).digest(), mechanism=Mechanism.ECDSA)
                    half = len(raw) // 2
                    return encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))
                return bytes(self._key.sign(data, mechanism=Mechanism.SHA256_RSA_PKCS))
        except p11_exc.PKCS11Error as exc:
            raise SignerUnavailable("The CA key on the token could not sign.") from exc

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
        from pkcs11 import exceptions as p11_exc

        with contextlib.suppress(p11_exc.PKCS11Error):  # already closed or token gone
            self._session.close()
