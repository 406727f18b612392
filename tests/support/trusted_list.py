"""ETSI TS 119 612 trusted lists generated for the tests: a TSP with a qualified CA (CA/QC) service and a qualified
timestamping (TSA/QTST) service, optionally signed (XAdES, with signxml) by a list operator's certificate."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from asn1crypto import x509
from cryptography import x509 as pyca_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

TSL = "http://uri.etsi.org/02231/v2#"
SIE = "http://uri.etsi.org/TrstSvc/SvcInfoExt/eSigDir-1999-93-EC-TrustedList/#"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
CA_QC = "http://uri.etsi.org/TrstSvc/Svctype/CA/QC"
QTST = "http://uri.etsi.org/TrstSvc/Svctype/TSA/QTST"
STATUS = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/"
SVC_INFO_EXT = "http://uri.etsi.org/TrstSvc/TrustedList/SvcInfoExt/"
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Service:
    """One service entry: its current status since a time, and earlier statuses (newest first)."""

    name: str
    type_uri: str
    cert: x509.Certificate
    status: str = "granted"
    since: datetime = LONG_AGO
    history: tuple[tuple[str, datetime], ...] = ()
    qualifiers: tuple[str, ...] = ()
    for_signatures: bool = False
    extra: dict[str, str] = field(default_factory=dict)


def _el(parent: etree._Element, name: str, text: str | None = None, ns: str = TSL) -> etree._Element:
    child = etree.SubElement(parent, f"{{{ns}}}{name}")
    if text is not None:
        child.text = text
    return child


def _named(parent: etree._Element, tag: str, name: str) -> None:
    _el(_el(parent, tag), "Name", name).set(XML_LANG, "en")


def _identity(parent: etree._Element, cert: x509.Certificate) -> None:
    digital_id = _el(_el(parent, "ServiceDigitalIdentity"), "DigitalId")
    _el(digital_id, "X509Certificate", base64.b64encode(cert.dump()).decode())


def _extensions(parent: etree._Element, service: Service) -> None:
    if not service.qualifiers and not service.for_signatures:
        return
    extensions = _el(parent, "ServiceInformationExtensions")
    if service.qualifiers:
        ext = _el(extensions, "Extension")
        ext.set("Critical", "true")
        element = _el(_el(ext, "Qualifications", ns=SIE), "QualificationElement", ns=SIE)
        quals = _el(element, "Qualifiers", ns=SIE)
        for qualifier in service.qualifiers:
            _el(quals, "Qualifier", ns=SIE).set("uri", SVC_INFO_EXT + qualifier)
        criteria = _el(element, "CriteriaList", ns=SIE)
        criteria.set("assert", "atLeastOne")
        _el(_el(criteria, "KeyUsage", ns=SIE), "KeyUsageBit", "true", ns=SIE).set("name", "nonRepudiation")
    if service.for_signatures:
        ext = _el(extensions, "Extension")
        ext.set("Critical", "false")
        info = _el(ext, "AdditionalServiceInformation")
        _el(info, "URI", SVC_INFO_EXT + "ForeSignatures").set(XML_LANG, "en")


def _status_block(parent: etree._Element, service: Service, status: str, since: datetime) -> None:
    _el(parent, "ServiceTypeIdentifier", service.type_uri)
    _named(parent, "ServiceName", service.name)
    _identity(parent, service.cert)
    _el(parent, "ServiceStatus", STATUS + status)
    _el(parent, "StatusStartingTime", since.strftime("%Y-%m-%dT%H:%M:%SZ"))
    _extensions(parent, service)


def trusted_list_xml(
    services: list[Service], *, territory: str = "BE", next_update: datetime | None = None
) -> etree._Element:
    """An unsigned trusted list naming one TSP ("Test Qualified TSP") with the given services, due for its next
    issue at `next_update` (default: in 180 days)."""
    now = datetime.now(UTC)
    root = etree.Element(f"{{{TSL}}}TrustServiceStatusList", nsmap={None: TSL}, Id="tsl")
    root.set("TSLTag", "http://uri.etsi.org/19612/TSLTag")
    scheme = _el(root, "SchemeInformation")
    _el(scheme, "TSLVersionIdentifier", "5")
    _el(scheme, "TSLSequenceNumber", "1")
    _el(scheme, "TSLType", "http://uri.etsi.org/TrstSvc/TrustedList/TSLType/EUgeneric")
    _named(scheme, "SchemeOperatorName", "Test Trusted List Operator")
    _el(scheme, "SchemeTerritory", territory)
    _el(scheme, "ListIssueDateTime", now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    _el(
        _el(scheme, "NextUpdate"), "dateTime", (next_update or now + timedelta(days=180)).strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    tsp = _el(_el(root, "TrustServiceProviderList"), "TrustServiceProvider")
    _named(_el(tsp, "TSPInformation"), "TSPName", "Test Qualified TSP")
    services_el = _el(tsp, "TSPServices")
    for service in services:
        entry = _el(services_el, "TSPService")
        _status_block(_el(entry, "ServiceInformation"), service, service.status, service.since)
        if service.history:
            history = _el(entry, "ServiceHistory")
            for status, since in service.history:
                _status_block(_el(history, "ServiceHistoryInstance"), service, status, since)
    return root


@dataclass(frozen=True)
class ListOperator:
    """A trusted-list operator's key and self-signed certificate (the list's signer)."""

    key: rsa.RSAPrivateKey
    cert: pyca_x509.Certificate

    @classmethod
    def generate(cls, name: str = "Test Trusted List Operator") -> ListOperator:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # signxml's default RSA-SHA256
        subject = pyca_x509.Name([pyca_x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.now(UTC)
        cert = (
            pyca_x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(pyca_x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365))
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert)

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def sign(self, tl: etree._Element) -> bytes:
        """The list with an enveloped XAdES signature over it."""
        from signxml.xades import XAdESSigner

        signed = XAdESSigner().sign(tl, key=self.key, cert=[self.cert], reference_uri="#tsl")
        out: bytes = etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
        return out


def unsigned(tl: etree._Element) -> bytes:
    """The list as XML bytes, without a signature."""
    out: bytes = etree.tostring(tl, xml_declaration=True, encoding="UTF-8")
    return out
