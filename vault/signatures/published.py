"""Revocation lists the vault publishes at `/pki/<name>` (public, unauthenticated, cacheable): the identity CA's
CRL, signed by the vault once per period, and the CRL files the operator lists (`VAULT_PUBLISHED_CRLS`, e.g. the
compose CA's, which covers the TSA's and the seal's certificates).

Anyone may ask, so an answer never costs a signature: the identity CA's list is signed at start and then at most
once per period per instance; every other request is served from memory. The same lists are handed to the signing
services, so B-LT embeds them without an HTTP request from the vault to itself.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Mapping
from pathlib import Path

from litestar import Response, Router, get
from litestar.di import NamedDependency
from litestar.params import FromPath

import signing
from vault.core.errors import NotFound
from vault.http.security import PUBLIC

__all__ = ("IDENTITY_CRL", "PKI_PATH", "PublishedCrls", "crl_files", "published_crls_router")

PKI_PATH = "/pki"
IDENTITY_CRL = "identity-ca.crl"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.crl")
_MAX_AGE = 3600  # at most an hour in a cache: a CRL file the operator replaces (a revocation) spreads within it


class PublishedCrls:
    """The CRLs served under `/pki/`, by file name.

    Args:
        lists: File name (``identity-ca.crl``, ``compose-ca.crl``) to its source.
    """

    def __init__(self, lists: Mapping[str, signing.PeriodicCrl | signing.CrlFile]) -> None:
        self._lists = dict(lists)

    @property
    def names(self) -> tuple[str, ...]:
        """The published file names."""
        return tuple(self._lists)

    def ders(self) -> list[bytes]:
        """Every published list as it is now (DER), for the signing services (may sign the identity CA's list of
        a new period: once per period)."""
        return [source.current().der for source in self._lists.values()]

    async def snapshot(self, name: str) -> signing.CrlSnapshot | None:
        """The list called `name` (`None`: no such list); served from memory unless a new period began."""
        source = self._lists.get(name)
        if source is None:
            return None
        if isinstance(source, signing.PeriodicCrl):
            fresh = source.fresh()
            if fresh is not None:
                return fresh
        return await asyncio.to_thread(source.current)


def crl_files(value: str, reserved: tuple[str, ...] = (IDENTITY_CRL,)) -> dict[str, signing.CrlFile]:
    """`VAULT_PUBLISHED_CRLS`: comma-separated CRL files (DER or PEM), each served under its file name.

    Raises:
        ValueError: A name is not `<letters, digits, . _ ->.crl`, is taken twice or by the identity CA's list, or a
            file is missing or not a CRL.
    """
    files: dict[str, signing.CrlFile] = {}
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        path = Path(item)
        if not _NAME.fullmatch(path.name):
            raise ValueError(f"VAULT_PUBLISHED_CRLS: {path.name!r} must be a file name ending in .crl")
        if path.name in files or path.name in reserved:
            raise ValueError(f"VAULT_PUBLISHED_CRLS: {path.name} is published twice")
        try:
            files[path.name] = signing.CrlFile(path)
        except OSError as exc:
            raise ValueError(f"VAULT_PUBLISHED_CRLS: {path} cannot be read") from exc
    return files


def published_crls_router() -> Router:
    """`GET /pki/{name}`: the published CRLs (DER, `application/pkix-crl`), public like any CA's repository."""

    @get("/{name:str}", opt=PUBLIC)
    async def published_crl(published_crls: NamedDependency[PublishedCrls], name: FromPath[str]) -> Response[bytes]:
        """A certificate revocation list the vault publishes: `identity-ca.crl` (the CA of citizens' signing
        certificates) and the operator's `VAULT_PUBLISHED_CRLS`. Cacheable until the next list is issued."""
        snapshot = await published_crls.snapshot(name)
        if snapshot is None:
            raise NotFound("no such revocation list")
        max_age = min(snapshot.max_age(dt.datetime.now(dt.UTC)), _MAX_AGE)
        return Response(
            snapshot.der,
            media_type="application/pkix-crl",
            headers={
                "Cache-Control": f"public, max-age={max_age}",
                "Last-Modified": snapshot.this_update.strftime("%a, %d %b %Y %H:%M:%S GMT"),
            },
        )

    return Router(PKI_PATH, route_handlers=[published_crl], tags=["PKI"])
