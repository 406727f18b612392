"""The agencies' own seals: configured ones (key files or an HSM), and in development one per agency issued by
the development PKI on first use."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence

from pyhanko.sign.timestamps import TimeStamper

import signing

__all__ = ("AgencySealBook",)


class AgencySealBook:
    """Seals by agency name, each a `signing.AgencySeals` of one agency (so a development seal can be added
    while the service runs).

    Args:
        signers: The configured seals (agency name to signer back end; closed by :meth:`aclose`).
        issue: In development, a function that issues the seal of an unknown agency (the development PKI);
            ``None`` in production (an unknown agency has no seal).
        tsa_url / timestamper / trust_roots / allow_fetching / known_crls: as for `signing.AgencySeals`.
        pool: The signing workers: a seal with a recipe in `specs` signs there, off the event loop (the signer
            back ends here then only answer fingerprints); ``None`` signs in this process.
        specs: How a worker opens each configured seal.
        spec_of: In development, how a worker opens the seal `issue` made for an agency.
    """

    def __init__(
        self,
        signers: Mapping[str, signing.DocumentSigner],
        *,
        issue: Callable[[str], signing.DocumentSigner] | None,
        tsa_url: str | None,
        timestamper: TimeStamper | None,
        trust_roots: Sequence[bytes],
        allow_fetching: bool,
        known_crls: Callable[[], Sequence[bytes]] | None = None,
        pool: signing.SigningPool | None = None,
        specs: Mapping[str, signing.SignerSpec] | None = None,
        spec_of: Callable[[str], signing.SignerSpec] | None = None,
    ) -> None:
        self._issue = issue
        self._known_crls = known_crls
        self._pool = pool
        self._specs = dict(specs or {})
        self._spec_of = spec_of
        self._tsa_url = tsa_url
        self._timestamper = timestamper
        self._trust_roots = trust_roots
        self._allow_fetching = allow_fetching
        self._seals: dict[str, signing.AgencySeals] = {}
        self._lock = asyncio.Lock()
        for agency, signer in signers.items():
            self._seals[agency] = self._one(agency, signer)

    def _one(self, agency: str, signer: signing.DocumentSigner) -> signing.AgencySeals:
        return signing.AgencySeals(
            {agency: signer},
            tsa_url=self._tsa_url,
            timestamper=self._timestamper,
            trust_roots=self._trust_roots,
            allow_fetching=self._allow_fetching,
            known_crls=self._known_crls,
        )

    async def _seals_of(self, agency: str) -> signing.AgencySeals:
        seals = self._seals.get(agency)
        if seals is not None:
            return seals
        if self._issue is None:
            raise signing.UnknownAgency()
        async with self._lock:
            if agency not in self._seals:
                try:
                    signer = await asyncio.to_thread(self._issue, agency)
                except ValueError as exc:  # a name the development PKI cannot make a certificate for
                    raise signing.UnknownAgency() from exc
                self._seals[agency] = self._one(agency, signer)
                if self._spec_of is not None:
                    self._specs[agency] = self._spec_of(agency)
            return self._seals[agency]

    async def seal(self, agency: str, pdf: bytes, request: signing.SignRequest) -> bytes:
        """`pdf` sealed by `agency` (errors as `signing.AgencySeals.seal`; `UnknownAgency` without a seal;
        `signing.Busy` when the signing workers are full)."""
        seals = await self._seals_of(agency)
        spec = self._specs.get(agency)
        if self._pool is not None and spec is not None:
            return await self._pool.seal_with(spec, pdf, request)
        return await seals.seal(agency, pdf, request)

    async def fingerprint(self, agency: str) -> str:
        """SHA-256 of the agency's registered seal certificate (`UnknownAgency` without a seal)."""
        return (await self._seals_of(agency)).fingerprint(agency)

    async def check(self, agency: str, pdf: bytes) -> signing.SealCheck:
        """Whether `pdf` is sealed by `agency`'s registered certificate (`UnknownAgency` without a seal)."""
        return await (await self._seals_of(agency)).check(agency, pdf)

    async def aclose(self) -> None:
        """Close the HTTP sessions and the signer back ends."""
        for agency, seals in list(self._seals.items()):
            await seals.aclose()
            seals.signer(agency).close()
        self._seals.clear()
