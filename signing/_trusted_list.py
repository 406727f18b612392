"""An EU trusted list (ETSI TS 119 612) read with pyHanko: its qualified services, as trust anchors and for the
qualified status of signers and timestamp authorities.

pyHanko (``pyhanko.sign.validation.qualified``) reads one trusted list (not the list of the lists) into a
``TSPRegistry``: only ``CA/QC`` and ``TSA/QTST`` services, and only the periods in which a service's status (or an
entry of its history) was *granted*. With signer certificates it checks the list's XAdES signature first
(``trust_list_to_registry``, through signxml); without, it reads the list as it is
(``trust_list_to_registry_unsafe``), which only a development setup should do.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asn1crypto import x509
from lxml import etree
from pyhanko.sign.validation.qualified.tsp import TSPRegistry, TSPTrustManager
from pyhanko_certvalidator.authority import Authority, TrustAnchor
from pyhanko_certvalidator.registry import SimpleTrustManager

from ._certs import CertificateLike, to_asn1_all
from ._errors import TrustedListError

__all__ = ("RootsAndTrustedList", "TrustedList")

_MAX_LIST_BYTES = 64 * 1024 * 1024
_TSL = "http://uri.etsi.org/02231/v2#"


@dataclass(frozen=True)
class _Parsed:
    registry: TSPRegistry
    skipped: int


class TrustedList:
    """One ETSI TS 119 612 trusted list, parsed by pyHanko.

    Args:
        xml: The list as published (XML).
        signers: Certificates one of which must have signed the list (its XAdES signature is checked). ``None``
            reads the list without checking any signature: the caller vouches for the file.

    Attributes:
        signature_checked: Whether the list's XML signature was verified against ``signers``.
        skipped_services: Service entries pyHanko could not interpret (left out of the registry).
        next_update: When the list says its next issue is due (``NextUpdate``); after it, the list is out of date
            (pyHanko does not look at it; the qualification assessment does).

    Raises:
        TrustedListError: The list is not readable XML in the TS 119 612 schema, its signature does not verify
            against any of ``signers``, or it lists no qualified CA or timestamping service.
    """

    def __init__(self, xml: str | bytes, *, signers: Sequence[CertificateLike] | None = None) -> None:
        text = xml.decode("utf-8") if isinstance(xml, bytes) else xml
        self._xml = text
        self._signers = to_asn1_all(signers) if signers else []
        parsed = _parse(text, self._signers)
        self.registry = parsed.registry
        self.skipped_services = parsed.skipped
        self.signature_checked = bool(self._signers)
        self.next_update = _next_update(text)

    @classmethod
    def load(cls, path: Path, *, signers: Sequence[Path] | None = None) -> TrustedList:
        """Read a list file (and its signers' certificate files).

        Raises:
            TrustedListError: A file cannot be read, or as the constructor.
        """
        try:
            if path.stat().st_size > _MAX_LIST_BYTES:
                raise TrustedListError(f"the trusted list {path.name} is larger than {_MAX_LIST_BYTES} bytes")
            xml = path.read_bytes()
            signer_certs = to_asn1_all(signers) if signers else None
        except OSError as exc:
            raise TrustedListError(f"cannot read the trusted list or its signer: {exc.strerror}") from exc
        except ValueError as exc:  # a signer file that is no certificate
            raise TrustedListError(f"the trusted list's signer certificate is unreadable: {exc}") from exc
        return cls(xml, signers=signer_certs)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as the XML and signer certificates (worker processes parse the list again)."""
        return (_rebuild, (self._xml, [c.dump() for c in self._signers]))

    def anchors(self) -> Iterator[x509.Certificate]:
        """The certificates of every listed qualified service (CAs and timestamp authorities)."""
        authorities = set(self.registry.known_certificate_authorities) | set(self.registry.known_timestamp_authorities)
        for authority in authorities:
            cert = getattr(authority, "certificate", None)
            if isinstance(cert, x509.Certificate):
                yield cert


def _rebuild(xml: str, signers: list[bytes]) -> TrustedList:
    return TrustedList(xml, signers=signers or None)


def _parse(xml: str, signers: list[x509.Certificate]) -> _Parsed:
    # Imported here: the XML bindings take a while to import, and only a configured list needs them.
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko.sign.validation.qualified.eutl_parse import trust_list_to_registry, trust_list_to_registry_unsafe

    try:
        if signers:
            registry, errors = trust_list_to_registry(xml, signers)
        else:
            registry, errors = trust_list_to_registry_unsafe(xml)
    except SignatureValidationError as exc:
        raise TrustedListError(f"the trusted list's signature does not verify: {exc.failure_message}") from exc
    except Exception as exc:  # lxml, xsdata and pyHanko's own parsing errors: the file is not a usable list
        raise TrustedListError(f"the file is not a readable ETSI TS 119 612 trusted list: {_one_line(exc)}") from exc
    if not registry.known_certificate_authorities and not registry.known_timestamp_authorities:
        raise TrustedListError("the trusted list grants no qualified CA (CA/QC) or timestamping (TSA/QTST) service")
    return _Parsed(registry, len(errors))


def _next_update(xml: str) -> datetime | None:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(xml.encode("utf-8"), parser)
    found = root.find(f"{{{_TSL}}}SchemeInformation/{{{_TSL}}}NextUpdate/{{{_TSL}}}dateTime")
    if found is None or not found.text:
        return None  # a closed list has no next update
    try:
        when = datetime.fromisoformat(found.text.strip())
    except ValueError as exc:
        raise TrustedListError(f"the trusted list's NextUpdate is not a date: {found.text.strip()[:40]!r}") from exc
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


class RootsAndTrustedList(TSPTrustManager):
    """Trust anchors: the configured roots and, in addition, every service on the trusted list.

    A listed service is an anchor only within the periods the list grants it (pyHanko's ``TSPTrustManager``
    qualifies the anchor with the status period). Being a ``TSPTrustManager``, pyHanko's AdES processes also
    attach their qualification assessment to the statuses they return.
    """

    def __init__(self, roots: Sequence[x509.Certificate], trusted_list: TrustedList) -> None:
        super().__init__(trusted_list.registry)
        self._roots = SimpleTrustManager.build(trust_roots=roots)

    def as_trust_anchor(self, authority: Authority) -> TrustAnchor | None:
        return self._roots.as_trust_anchor(authority) or super().as_trust_anchor(authority)

    def find_potential_issuers(self, cert: x509.Certificate) -> Generator[TrustAnchor, None, None]:
        yield from self._roots.find_potential_issuers(cert)
        yield from super().find_potential_issuers(cert)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}"
