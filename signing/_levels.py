"""The PAdES baseline level a signature's structure shows, B-LT only with revocation data for the whole chain."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from asn1crypto import x509
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.policy_decl import LocalKnowledge
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator.path import ValidationPath

from ._ades import embedded_knowledge, signature_timestamp_time

__all__ = ("pades_level",)

_PADES_SUBFILTER = "/ETSI.CAdES.detached"


def _covered_by_ocsp(cert: x509.Certificate, knowledge: LocalKnowledge) -> bool:
    for container in knowledge.known_ocsps:
        responses = container.ocsp_response_data.basic_ocsp_response["tbs_response_data"]["responses"]
        cert_id = responses[container.index]["cert_id"]
        if cert_id["serial_number"].native != cert.serial_number:
            continue
        algo = cert_id["hash_algorithm"]["algorithm"].native
        if hashlib.new(algo, cert.issuer.dump()).digest() == cert_id["issuer_name_hash"].native:
            return True
    return False


def _covered_by_crl(cert: x509.Certificate, knowledge: LocalKnowledge) -> bool:
    return any(c.crl_data["tbs_cert_list"]["issuer"] == cert.issuer for c in knowledge.known_crls)


def _needs_revinfo(cert: x509.Certificate) -> bool:
    return cert.self_signed == "no" and cert.ocsp_no_check_value is None


def _path_certs(path: ValidationPath | None) -> Iterable[x509.Certificate]:
    return () if path is None else path.iter_certs(include_root=False)


def _whole_chain_covered(status: PdfSignatureStatus, knowledge: LocalKnowledge) -> bool:
    """Revocation data for every non-root certificate of the signer's and the timestamp's paths is embedded."""
    if status.validation_path is None:
        return False
    certs = list(_path_certs(status.validation_path))
    ts = status.timestamp_validity
    if ts is None or ts.validation_path is None:
        return False
    certs += _path_certs(ts.validation_path)
    return all(_covered_by_ocsp(c, knowledge) or _covered_by_crl(c, knowledge) for c in certs if _needs_revinfo(c))


def pades_level(
    sig: EmbeddedPdfSignature, status: PdfSignatureStatus, all_sigs: Sequence[EmbeddedPdfSignature]
) -> str | None:
    """``B-B``, ``B-T``, ``B-LT`` or ``B-LTA`` from structure (not validity); ``None`` for non-PAdES signatures."""
    if sig.sig_object.get("/SubFilter") != _PADES_SUBFILTER:
        return None
    if signature_timestamp_time(sig) is None:
        return "B-B"
    if not _whole_chain_covered(status, embedded_knowledge(sig)):
        return "B-T"
    later_doc_ts = any(
        other.sig_object_type == "/DocTimeStamp" and other.signed_revision > sig.signed_revision for other in all_sigs
    )
    return "B-LTA" if later_doc_ts else "B-LT"
