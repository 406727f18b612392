"""Signing keys in a SoftHSM2 token that disappears under the running vault and comes back (its token directory
moved away and back, as tests/system/test_fault_dependencies.py does to the key provider): signing answers 503 and
adds no version while the token is gone, and signs again once it is back, without a restart. With the KEK in the
same token, the key provider's re-initialisation of the module kills the signer's session too, and the signer
opens a fresh one.

The reconnect interval is set to zero here so that the first request after the token is back logs in again
(no waiting); tests/unit/test_signing_pkcs11_reconnect.py shows the once-per-interval limit."""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import signing._pkcs11_session
import storage._pkcs11
from signing import KeyFileCaKey, Pkcs11CaKey, SignerUnavailable
from signing._ca import PublicKey
from signing._issuance import Profile, issue, name
from tests.integration.test_signing_pkcs11 import _generate, _issue, _public_key
from tests.services.pki import MINIMAL_PDF, PkiServices
from tests.services.softhsm import SoftHsmToken
from tests.support.api import DOCS, DevTokens, assert_problem, later, upload
from tests.support.vault_app import make_settings, vault_client

pytestmark = pytest.mark.hsm
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def token_gone(softhsm_token: SoftHsmToken, monkeypatch: pytest.MonkeyPatch) -> Iterator[_TokenDirectory]:
    """Moves the session's token directory away and back (always back, for the next tests)."""
    monkeypatch.setattr(signing._pkcs11_session, "RECONNECT_INTERVAL", 0.0)
    monkeypatch.setattr(storage._pkcs11, "RECONNECT_INTERVAL", 0.0)
    monkeypatch.setenv("VAULT_TEST_HSM_PIN", softhsm_token.pin)
    directory = _TokenDirectory(softhsm_token.conf_path.parent / "tokens")
    try:
        yield directory
    finally:
        directory.back()


class _TokenDirectory:
    def __init__(self, path: Path) -> None:
        self.path, self.away = path, path.with_name("tokens.away")

    def gone(self) -> None:
        shutil.move(self.path, self.away)

    def back(self) -> None:
        if self.away.exists():
            shutil.move(self.away, self.path)


def _url(softhsm_token: SoftHsmToken, **query: str) -> str:
    rest = "".join(f"&{k}={v}" for k, v in query.items())
    return f"pkcs11:{softhsm_token.module_path}?token={softhsm_token.token_label}&pin-env=VAULT_TEST_HSM_PIN{rest}"


def _seal_in_token(softhsm_token: SoftHsmToken, pki: PkiServices) -> str:
    from pkcs11 import Attribute, ObjectClass
    from pkcs11.util.x509 import decode_x509_certificate

    label = f"vault-seal-{secrets.token_hex(4)}"
    with softhsm_token.open_session() as session:
        public, _ = _generate(session, "ec", label)
        attributes = decode_x509_certificate(_issue(pki, _public_key("ec", public), "HSM Vault Seal"))
        attributes.update({Attribute.TOKEN: True, Attribute.LABEL: label, Attribute.CLASS: ObjectClass.CERTIFICATE})
        session.create_object(attributes)
    return _url(softhsm_token, key=label, cert=label, chain=str(pki.cert_path("interm")))


@pytest.mark.pki
@pytest.mark.parametrize("kek", ["keyring", "same-token"])
def test_an_agency_seal_in_a_token_that_comes_back_signs_again(
    kek: str, tmp_path: Path, softhsm_token: SoftHsmToken, pki: PkiServices, token_gone: _TokenDirectory
) -> None:
    seal = _seal_in_token(softhsm_token, pki)
    extra = {"key_provider": _url(softhsm_token, label=f"kek-{secrets.token_hex(4)}", create="true")}
    settings = make_settings(
        tmp_path, agency_seals=f"tax-office={seal}", trust_roots=str(pki.root_cert_path), tsa_url=pki.tsa_url,
        **(extra if kek == "same-token" else {}),
    )  # fmt: skip
    with vault_client(settings) as client:
        tokens = DevTokens(client.app)
        doc = upload(client, tokens("alice"), MINIMAL_PDF.read_bytes(), media_type="application/pdf")
        grant = {"agency": "tax-office", "permissions": ["view", "sign"], "expires_at": later(days=1)}
        assert client.post(f"{DOCS}/{doc['id']}/grants", json=grant, headers=tokens("alice")).status_code == 201

        token_gone.gone()
        started = time.monotonic()
        for _ in range(2):  # the first one finds the session dead, the next one finds no token to log in to
            refused = client.post(f"{DOCS}/{doc['id']}/signatures", json={"level": "B-T"}, headers=tokens("olga"))
            # the seal's token (or, in the same token, the KEK needed to read the document first) is unavailable
            expected = "/service-unavailable" if kek == "keyring" else "/key-provider-unavailable"
            assert assert_problem(refused, 503)["type"].endswith(expected), refused.text
        refusing = (time.monotonic() - started) / 2
        token_gone.back()

        versions = client.get(f"{DOCS}/{doc['id']}/versions", headers=tokens("alice")).json()
        assert [v["number"] for v in versions] == [1]  # nothing signed or half-made while the token was gone
        started = time.monotonic()
        signed = client.post(f"{DOCS}/{doc['id']}/signatures", json={"level": "B-T"}, headers=tokens("olga"))
        recovering = time.monotonic() - started
        assert signed.status_code == 201, signed.text
        report = client.get(f"{DOCS}/{doc['id']}/signatures", headers=tokens("alice")).json()
    [signature] = report["signatures"]
    assert "HSM Vault Seal" in signature["signer"]["subject"]
    assert (signature["intact"], signature["valid"], signature["trusted"]) == (True, True, True)
    print(f"\nagency seal in the token (KEK: {kek}): 503 in {refusing:.3f} s a request while gone;"
          f" the first seal after it is back in {recovering:.3f} s")  # fmt: skip


def _key_in_token(softhsm_token: SoftHsmToken, label: str) -> PublicKey:
    from pkcs11.util.ec import encode_ec_public_key

    with softhsm_token.open_session() as session:
        public, _ = _generate(session, "ec", label)
        key = serialization.load_der_public_key(encode_ec_public_key(public))
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


def _certify(pki: Path, public_key: PublicKey, subject: str, profile: Profile) -> Path:
    """A certificate for ``public_key`` from the compose PKI's CA (in its trust roots)."""
    now = dt.datetime.now(dt.UTC)
    cert = issue(
        subject=name(subject, "Citizen Vault"),
        public_key=public_key,
        issuer=x509.load_pem_x509_certificate((pki / "ca.pem").read_bytes()).subject,
        issuer_key=KeyFileCaKey.load(pki / "ca.key"),
        profile=profile,
        not_before=now - dt.timedelta(minutes=5),
        not_after=now + dt.timedelta(days=1),
    )
    path = pki / f"{subject.replace(' ', '-')}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


@pytest.mark.parametrize("tsa", ["tsa-key-file", "tsa-in-token"])
def test_an_identity_ca_in_a_token_that_comes_back_issues_again(
    tsa: str, tmp_path: Path, softhsm_token: SoftHsmToken, token_gone: _TokenDirectory
) -> None:
    pki = tmp_path / "pki"
    subprocess.run([sys.executable, str(REPO / "deploy" / "init_pki.py"), str(pki)], check=True, timeout=60)
    ca_label, tsa_label = f"identity-ca-{secrets.token_hex(4)}", f"tsa-{secrets.token_hex(4)}"
    ca_cert = _certify(pki, _key_in_token(softhsm_token, ca_label), "HSM Identity CA", Profile.CA)
    own_tsa = {"tsa_key": str(pki / "tsa.key"), "tsa_cert": str(pki / "tsa.pem")}
    if tsa == "tsa-in-token":  # the vault's own TSA key in the same token: two sessions to log in again
        tsa_cert = _certify(pki, _key_in_token(softhsm_token, tsa_label), "HSM TSA", Profile.TSA)
        own_tsa = {"tsa_key": _url(softhsm_token, key=tsa_label), "tsa_cert": str(tsa_cert)}
    settings = make_settings(
        tmp_path, identity_ca_cert=str(ca_cert), identity_ca_key=_url(softhsm_token, key=ca_label),
        trust_roots=str(pki / "trust-roots.pem"), **own_tsa,
    )  # fmt: skip
    with vault_client(settings) as client:
        alice = DevTokens(client.app)("alice")
        doc = upload(client, alice, MINIMAL_PDF.read_bytes(), media_type="application/pdf")

        token_gone.gone()
        started = time.monotonic()
        for _ in range(2):
            refused = client.post(f"{DOCS}/{doc['id']}/signatures", headers=alice, json={})
            assert assert_problem(refused, 503)["type"].endswith("/service-unavailable"), refused.text
        refusing = (time.monotonic() - started) / 2
        token_gone.back()

        versions = client.get(f"{DOCS}/{doc['id']}/versions", headers=alice).json()
        assert [v["number"] for v in versions] == [1]  # nothing signed or half-made while the token was gone
        started = time.monotonic()
        signed = client.post(f"{DOCS}/{doc['id']}/signatures", headers=alice, json={})
        recovering = time.monotonic() - started
        assert signed.status_code == 201, signed.text
        report = client.get(f"{DOCS}/{doc['id']}/signatures", headers=alice).json()
    [signature] = report["signatures"]
    assert (signature["intact"], signature["valid"], signature["trusted"]) == (True, True, True), signature
    assert "HSM Identity CA" in signature["signer"]["issuer"]
    assert "Alice Citizen" in signature["signer"]["subject"]
    assert signature["timestamp"]["trusted"] is True
    if tsa == "tsa-in-token":
        assert "HSM TSA" in signature["timestamp"]["authority"]
    print(f"\nidentity CA in the token ({tsa}): 503 in {refusing:.3f} s a request while gone;"
          f" the first signature after it is back in {recovering:.3f} s")  # fmt: skip


def test_a_ca_key_that_does_not_match_its_certificate_is_refused_at_start(
    tmp_path: Path, softhsm_token: SoftHsmToken
) -> None:
    pki = tmp_path / "pki"
    subprocess.run([sys.executable, str(REPO / "deploy" / "init_pki.py"), str(pki)], check=True, timeout=60)
    label = f"identity-ca-{secrets.token_hex(4)}"
    _key_in_token(softhsm_token, label)
    other = _certify(pki, ec.generate_private_key(ec.SECP256R1()).public_key(), "Other CA", Profile.CA)
    certificate = x509.load_pem_x509_certificate(other.read_bytes())
    with pytest.raises(SignerUnavailable, match="does not match"):
        Pkcs11CaKey.open(softhsm_token.module_path, softhsm_token.token_label, softhsm_token.pin, label, certificate)
