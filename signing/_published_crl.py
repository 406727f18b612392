"""Certificate revocation lists a service publishes itself: its own CA's, issued once per period, and CRL files.

A :class:`PeriodicCrl` is what a CA that issues only short-lived certificates (the identity CA: ten minutes, never
revoked) publishes so that validators, which want revocation data for every certificate (pyhanko-certvalidator
ignores ``noRevAvail``), can have it. Its ``thisUpdate`` is the start of the current period (an hour by default)
and its CRL number that instant in seconds, so every instance of a service signs the same list within a period
without sharing state: identical bytes with a key file (deterministic ECDSA, RFC 6979), the same content with
another signature on an HSM. It is signed at most once per period per process, however many callers ask.

A :class:`CrlFile` is a CRL another key signed (the compose CA's, written at set-up), read from disk again when
the file changes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ._ca import CaKey, sign_crl

__all__ = ("CrlFile", "CrlSnapshot", "PeriodicCrl")

Clock = Callable[[], dt.datetime]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclass(frozen=True)
class CrlSnapshot:
    """One CRL as served.

    Attributes:
        der: The CRL (DER).
        this_update: Its ``thisUpdate``.
        next_update: Its ``nextUpdate``.
        replaced_at: When a newer list will be served (the end of the period; ``next_update`` for a file).
    """

    der: bytes
    this_update: dt.datetime
    next_update: dt.datetime
    replaced_at: dt.datetime

    def max_age(self, now: dt.datetime) -> int:
        """Seconds a cache may keep it: until it is replaced, never past ``nextUpdate``, at least zero."""
        return max(0, int((min(self.replaced_at, self.next_update) - now).total_seconds()))


class PeriodicCrl:
    """A CA's (empty) CRL, issued once per period with ``thisUpdate`` at the period's start.

    Args:
        ca_certificate: The CA.
        key: Its key (a key file or a PKCS#11 key).
        period: How often a new list is issued; ``thisUpdate`` is a multiple of it since the epoch.
        validity: ``nextUpdate - thisUpdate`` (longer than the period: a list fetched at a period's end stays
            usable for a while).
        clock: Source of the current time.
    """

    def __init__(
        self,
        ca_certificate: x509.Certificate,
        key: CaKey,
        *,
        period: dt.timedelta = dt.timedelta(hours=1),
        validity: dt.timedelta = dt.timedelta(hours=6),
        clock: Clock = _now,
    ) -> None:
        if period < dt.timedelta(minutes=1) or validity < period:
            raise ValueError("a CRL period is at least a minute and its validity at least the period")
        self._ca = ca_certificate
        self._key = key
        self._period = int(period.total_seconds())
        self._validity = validity
        self._clock = clock
        self._lock = threading.Lock()  # one signature per period, however many threads ask at once
        self._cached: CrlSnapshot | None = None

    def fresh(self) -> CrlSnapshot | None:
        """The list of the current period if it has been signed already (never signs: cheap for any caller)."""
        cached = self._cached
        if cached is None or self._clock() >= cached.replaced_at:
            return None
        return cached

    def current(self) -> CrlSnapshot:
        """The list of the current period, signed now if this process has not signed it yet (blocking)."""
        with self._lock:
            cached = self.fresh()
            if cached is None:
                cached = self._cached = self._issue()
            return cached

    def _issue(self) -> CrlSnapshot:
        now = int(self._clock().timestamp())
        start = dt.datetime.fromtimestamp(now - now % self._period, dt.UTC)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self._ca.subject)
            .last_update(start)
            .next_update(start + self._validity)
            .add_extension(x509.CRLNumber(int(start.timestamp())), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False)
        )
        der = sign_crl(builder, self._key, deterministic=True)
        replaced = start + dt.timedelta(seconds=self._period)
        return CrlSnapshot(der, start, start + self._validity, replaced)


class CrlFile:
    """A CRL file (DER or PEM) published as it is; read again when its modification time changes.

    Args:
        path: The file.

    Raises:
        ValueError: The file is not a CRL (at construction, so a bad setting fails at start).
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._mtime = os.stat(path).st_mtime_ns
        self._snapshot = _load_crl(path.read_bytes(), path)

    @property
    def path(self) -> Path:
        """The file."""
        return self._path

    def current(self) -> CrlSnapshot:
        """The file's CRL (re-read after the file was replaced; the last good one if it no longer parses)."""
        try:
            mtime = os.stat(self._path).st_mtime_ns
        except OSError:
            return self._snapshot
        if mtime != self._mtime:
            with self._lock:
                # half-written or removed: keep serving the last good list
                with contextlib.suppress(OSError, ValueError):
                    self._snapshot = _load_crl(self._path.read_bytes(), self._path)
                self._mtime = mtime
        return self._snapshot


def _load_crl(data: bytes, path: Path) -> CrlSnapshot:
    try:
        crl = x509.load_pem_x509_crl(data) if b"-----BEGIN" in data else x509.load_der_x509_crl(data)
    except ValueError as exc:
        raise ValueError(f"{path} is not a CRL (DER or PEM)") from exc
    this_update, next_update = crl.last_update_utc, crl.next_update_utc
    if next_update is None:
        raise ValueError(f"{path}: a published CRL needs a nextUpdate")
    return CrlSnapshot(crl.public_bytes(serialization.Encoding.DER), this_update, next_update, next_update)
