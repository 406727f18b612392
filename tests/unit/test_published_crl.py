"""The CRLs the vault publishes: the identity CA's list is signed once per period (never per request) with the same
content on every instance, and CRL files are served as the operator wrote them."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from signing import CrlFile, KeyFileCaKey, PeriodicCrl
from signing._ca import PrivateKey, PublicKey
from signing._issuance import Profile, issue, name
from vault.signatures.published import PublishedCrls, crl_files

START = dt.datetime(2026, 11, 30, 18, 0, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


class CountingTokenKey:
    """A CA key that signs the way a token does (through `sign`), counting the signatures."""

    def __init__(self, key: ec.EllipticCurvePrivateKey) -> None:
        self._key = key
        self.signatures = 0

    def public_key(self) -> PublicKey:
        return self._key.public_key()

    def sign(self, data: bytes) -> bytes:
        self.signatures += 1
        return self._key.sign(data, ec.ECDSA(hashes.SHA256()))

    def builder_key(self) -> PrivateKey:
        return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def ca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = issue(
        subject=name("Test identity CA"),
        public_key=key.public_key(),
        issuer=name("Test identity CA"),
        issuer_key=KeyFileCaKey(key),
        profile=Profile.ROOT,
        not_before=START - dt.timedelta(days=1),
        not_after=START + dt.timedelta(days=365),
    )
    return cert, key


async def test_anonymous_requests_cost_one_signature_per_period(
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
) -> None:
    clock, key = Clock(START + dt.timedelta(minutes=17)), CountingTokenKey(ca[1])
    published = PublishedCrls({"identity-ca.crl": PeriodicCrl(ca[0], key, clock=clock)})

    answers = [await published.snapshot("identity-ca.crl") for _ in range(500)]
    assert key.signatures == 1
    assert len({answer.der for answer in answers if answer is not None}) == 1
    clock.now += dt.timedelta(minutes=42, seconds=59)  # still the same hour
    await published.snapshot("identity-ca.crl")
    assert key.signatures == 1
    clock.now += dt.timedelta(seconds=1)  # the next hour: one new list
    for _ in range(100):
        await published.snapshot("identity-ca.crl")
    assert key.signatures == 2
    assert await published.snapshot("other.crl") is None


def test_the_list_starts_with_its_period_and_is_valid_signed_der(
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
) -> None:
    now = START + dt.timedelta(minutes=17, seconds=3)
    snapshot = PeriodicCrl(ca[0], CountingTokenKey(ca[1]), clock=Clock(now)).current()
    crl = x509.load_der_x509_crl(snapshot.der)
    assert crl.is_signature_valid(ca[1].public_key())
    assert (crl.issuer, crl.last_update_utc, crl.next_update_utc) == (
        ca[0].subject,
        START,
        START + dt.timedelta(hours=6),
    )
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == int(START.timestamp())
    assert len(crl) == 0  # ten-minute certificates are never revoked; validators still want a list
    assert snapshot.max_age(now) == 42 * 60 + 57  # cacheable until the next list, never past nextUpdate


def test_two_instances_sign_the_same_list_within_a_period(
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
) -> None:
    one = PeriodicCrl(ca[0], KeyFileCaKey(ca[1]), clock=Clock(START + dt.timedelta(minutes=1))).current()
    two = PeriodicCrl(ca[0], KeyFileCaKey(ca[1]), clock=Clock(START + dt.timedelta(minutes=59))).current()
    assert one.der == two.der  # deterministic ECDSA with a key file: byte for byte
    on_a_token = [
        x509.load_der_x509_crl(PeriodicCrl(ca[0], CountingTokenKey(ca[1]), clock=Clock(START)).current().der)
        for _ in range(2)
    ]
    # a token signs with fresh randomness: another signature over the same list
    assert on_a_token[0].tbs_certlist_bytes == on_a_token[1].tbs_certlist_bytes
    assert on_a_token[0].tbs_certlist_bytes == x509.load_der_x509_crl(one.der).tbs_certlist_bytes


def test_a_crl_file_is_served_as_written_and_read_again_when_replaced(
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey], tmp_path: Path
) -> None:
    def write(when: dt.datetime) -> bytes:
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(ca[0].subject)
            .last_update(when)
            .next_update(when + dt.timedelta(days=365))
        )
        der = builder.sign(ca[1], hashes.SHA256()).public_bytes(serialization.Encoding.DER)
        (tmp_path / "compose-ca.crl").write_bytes(der)
        return der

    first = write(START)
    published = crl_files(f" {tmp_path / 'compose-ca.crl'} ,")
    assert list(published) == ["compose-ca.crl"]
    assert published["compose-ca.crl"].current().der == first
    second = write(START + dt.timedelta(days=1))
    os.utime(tmp_path / "compose-ca.crl", ns=(1, 2))  # a different modification time, whatever the clock says
    assert published["compose-ca.crl"].current().der == second
    (tmp_path / "compose-ca.crl").write_bytes(b"half written")
    os.utime(tmp_path / "compose-ca.crl", ns=(3, 4))
    assert published["compose-ca.crl"].current().der == second  # the last good list


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        ("{d}/identity-ca.crl", "published twice"),  # the identity CA's own list
        ("{d}/a.crl,{d}/a.crl", "published twice"),
        ("{d}/a.pem", "ending in .crl"),
        ("{d}/missing.crl", "cannot be read"),
        ("{d}/bad.crl", "not a CRL"),
    ],
)
def test_published_crl_files_are_checked_at_start(
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey], tmp_path: Path, files: str, problem: str
) -> None:
    (tmp_path / "bad.crl").write_bytes(b"not a list")
    good = PeriodicCrl(ca[0], KeyFileCaKey(ca[1]), clock=Clock(START)).current().der
    for file in ("identity-ca.crl", "a.crl", "a.pem"):
        (tmp_path / file).write_bytes(good)
    with pytest.raises(ValueError, match=problem):
        crl_files(files.format(d=tmp_path))


def test_a_crl_file_needs_a_readable_list(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        CrlFile(tmp_path / "absent.crl")
