"""The vault with its KEK in a real PKCS#11 token (SoftHSM2): documents round-trip, and when the token stops
answering the service fails closed with 503 and decrypts nothing."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.integration.test_signing_pkcs11 import _generate, _issue, _public_key
from tests.services.pki import MINIMAL_PDF, PkiServices
from tests.services.softhsm import SoftHsmToken
from tests.support.api import DOCS, DevTokens, assert_problem, later, upload
from tests.support.vault_app import make_settings, vault_client
from vault.app import services_of

pytestmark = pytest.mark.hsm


@pytest.fixture
def hsm_client(
    tmp_path: Path, softhsm_token: SoftHsmToken, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient[Litestar]]:
    monkeypatch.setenv("VAULT_TEST_HSM_PIN", softhsm_token.pin)
    label = f"vault-kek-{secrets.token_hex(4)}"
    url = (
        f"pkcs11:{softhsm_token.module_path}?token={softhsm_token.token_label}"
        f"&pin-env=VAULT_TEST_HSM_PIN&label={label}&create=true"
    )
    with vault_client(make_settings(tmp_path, key_provider=url)) as client:
        yield client


def test_documents_round_trip_with_the_kek_in_the_token(hsm_client: TestClient[Litestar]) -> None:
    tokens = DevTokens(hsm_client.app)
    data = os.urandom(200_000)
    doc = upload(hsm_client, tokens("alice"), data)
    assert hsm_client.get(f"{DOCS}/{doc['id']}/content", headers=tokens("alice")).content == data
    assert hsm_client.get("/ready").json()["checks"]["key_provider"] == "ok"


def test_a_lost_token_is_503_and_nothing_is_decrypted(hsm_client: TestClient[Litestar]) -> None:
    tokens = DevTokens(hsm_client.app)
    data = os.urandom(100_000)
    doc = upload(hsm_client, tokens("alice"), data)
    services_of(hsm_client.app).keys.provider.close()  # the token session is gone (HSM unplugged, network cut)
    response = hsm_client.get(f"{DOCS}/{doc['id']}/content", headers=tokens("alice"))
    assert_problem(response, 503)
    assert data[:64] not in response.content
    ready = hsm_client.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"]["key_provider"] == "unavailable"
    response = hsm_client.post(
        DOCS, content=b"new", headers={**tokens("bob"), "Content-Type": "text/plain", "X-Document-Title": "t"}
    )
    assert_problem(response, 503)


@pytest.mark.pki
def test_the_seal_in_the_token_signs_through_the_api(
    tmp_path: Path, softhsm_token: SoftHsmToken, pki: PkiServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pkcs11 import Attribute, ObjectClass
    from pkcs11.util.x509 import decode_x509_certificate

    label = f"vault-seal-{secrets.token_hex(4)}"
    with softhsm_token.open_session() as session:
        public, _ = _generate(session, "ec", label)
        attributes = decode_x509_certificate(_issue(pki, _public_key("ec", public), "HSM Vault Seal"))
        attributes.update({Attribute.TOKEN: True, Attribute.LABEL: label, Attribute.CLASS: ObjectClass.CERTIFICATE})
        session.create_object(attributes)
    monkeypatch.setenv("VAULT_TEST_HSM_PIN", softhsm_token.pin)
    seal = (
        f"pkcs11:{softhsm_token.module_path}?token={softhsm_token.token_label}&pin-env=VAULT_TEST_HSM_PIN"
        f"&key={label}&cert={label}&chain={pki.cert_path('interm')}"
    )
    # the seal in the token is the tax office's own (an agency seal in an HSM, as in production)
    settings = make_settings(
        tmp_path, agency_seals=f"tax-office={seal}", trust_roots=str(pki.root_cert_path), tsa_url=pki.tsa_url
    )
    with vault_client(settings) as client:
        tokens = DevTokens(client.app)
        doc = upload(client, tokens("alice"), MINIMAL_PDF.read_bytes(), media_type="application/pdf")
        grant = {"agency": "tax-office", "permissions": ["view", "sign"], "expires_at": later(days=1)}
        assert client.post(f"{DOCS}/{doc['id']}/grants", json=grant, headers=tokens("alice")).status_code == 201
        signed = client.post(f"{DOCS}/{doc['id']}/signatures", json={"level": "B-T"}, headers=tokens("olga"))
        assert signed.status_code == 201, signed.text
        report = client.get(f"{DOCS}/{doc['id']}/signatures", headers=tokens("alice")).json()
    [signature] = report["signatures"]
    assert "HSM Vault Seal" in signature["signer"]["subject"]
    assert (signature["intact"], signature["valid"], signature["trusted"]) == (True, True, True)
    assert signature["timestamp"]["trusted"] is True
