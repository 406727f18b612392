"""The ETSI validation policy: explicit trust roots (and a trusted list's services), revocation information
required for every certificate."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from asn1crypto import x509
from pyhanko.sign.validation.policy_decl import (
    CertificateFetchingRule,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import CertRevTrustPolicy, RevocationCheckingPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager, TrustManager

from ._trusted_list import RootsAndTrustedList, TrustedList

if TYPE_CHECKING:
    from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

__all__ = ("ades_spec", "trust_manager")


def trust_manager(roots: Sequence[x509.Certificate], trusted_list: TrustedList | None) -> TrustManager:
    """The configured roots, and the trusted list's services in addition when one is configured."""
    if trusted_list is None:
        return SimpleTrustManager.build(trust_roots=roots)
    return RootsAndTrustedList(roots, trusted_list)


def ades_spec(
    trust: TrustManager, fetchers: AIOHttpFetcherBackend | None, *, allow_fetching: bool
) -> SignatureValidationSpec:
    """The validation spec for the ETSI verdict: revocation required (not soft-fail), fetching only if allowed."""
    policy = CertValidationPolicySpec(
        trust_manager=trust,
        revinfo_policy=CertRevTrustPolicy(RevocationCheckingPolicy.from_legacy("require")),
    )
    online = allow_fetching and fetchers is not None
    gathering = RevocationInfoGatheringSpec(
        fetcher_backend=fetchers,
        online_fetching_rule=(
            RevinfoOnlineFetchingRule.NO_HISTORICAL_FETCH if online else RevinfoOnlineFetchingRule.LOCAL_ONLY
        ),
        certificate_fetching_rule=(
            CertificateFetchingRule.FOLLOW_ONLINE_RULE if online else CertificateFetchingRule.NEVER_FETCH
        ),
    )
    return SignatureValidationSpec(cert_validation_policy=policy, revinfo_gathering_policy=gathering)
