"""The development PKI served by the service itself (development mode only): CRLs, OCSP and an RFC 3161 TSA
under `/dev-pki/`, and the same TSA answered in-process when the service timestamps its own signatures."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from asn1crypto import tsp
from litestar import Request, Response, Router, route
from litestar.di import NamedDependency
from litestar.exceptions import MethodNotAllowedException
from litestar.params import FromPath
from pyhanko.sign.timestamps import TimeStamper

import signing
from vault.core.errors import NotFound, PayloadTooLarge
from vault.http.security import PUBLIC

__all__ = ("DEV_PKI_PATH", "InProcessTimeStamper", "dev_pki_router")

DEV_PKI_PATH = "/dev-pki"
_MAX_BODY = 64 * 1024 + 1  # the responders refuse more themselves (413), with their own answer


class InProcessTimeStamper(TimeStamper):
    """A timestamp authority of the service asked directly, for the service's own signatures: the development
    PKI's (the token its `/dev-pki/tsa` endpoint would send) or the operator-keyed one of `VAULT_TSA_KEY`,
    without an HTTP request from the service to itself (which a server that is not listening yet, or a test
    client without a socket, could not answer)."""

    def __init__(self, respond: Callable[[bytes], bytes]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._respond = respond

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        answer = await asyncio.to_thread(self._respond, req.dump())
        return tsp.TimeStampResp.load(answer)


def dev_pki_router() -> Router:
    """`/dev-pki/{path}` (GET, HEAD, POST): the `DevPkiResponders` of the running app, public like any CA's
    repository. Mounted by the composition root in development only."""

    @route("/{path:path}", http_method=["GET", "POST"], opt=PUBLIC, request_max_body_size=_MAX_BODY)
    async def dev_pki(
        request: Request[Any, Any, Any],
        dev_pki: NamedDependency[signing.DevPkiResponders | None],
        path: FromPath[str],
    ) -> Response[bytes]:
        """The development PKI: `tsa` (POST RFC 3161), `ocsp/<ca>` (POST, or GET with the base64 request),
        `crl/<ca>.crl` and `ca/<ca>.cer` (GET), for `<ca>` in root, issuing, identity."""
        if dev_pki is None:
            raise NotFound("this deployment has no development PKI")
        body = await request.body() if request.method == "POST" else b""
        answer = await asyncio.to_thread(dev_pki.answer, request.method, path, body)
        if answer.status >= 400:  # errors are problem details like everywhere else
            detail = answer.body.decode(errors="replace")
            if answer.status == 405:
                raise MethodNotAllowedException(detail)
            raise PayloadTooLarge(detail) if answer.status == 413 else NotFound(detail)
        return Response(
            answer.body,
            status_code=answer.status,
            media_type=answer.content_type,
            headers={"Cache-Control": "no-store"},
        )

    return Router(DEV_PKI_PATH, route_handlers=[dev_pki], tags=["development PKI"], include_in_schema=False)
