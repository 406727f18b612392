"""OpenAPI: the generated schema, completed with the problem-details errors every route can answer."""

from __future__ import annotations

import re
from typing import Any

from litestar import Litestar, Router
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import (
    Components,
    OpenAPIMediaType,
    OpenAPIResponse,
    Reference,
    RequestBody,
    Schema,
    SecurityScheme,
)
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType
from litestar.static_files import create_static_files_router

__all__ = ("docs_assets_router", "document_problem_responses", "openapi_config")

PROBLEM_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    required=["type", "title", "status", "detail"],
    properties={
        "type": Schema(
            type=OpenAPIType.STRING, format=OpenAPIFormat.URI, description="stable identifier of the problem"
        ),
        "title": Schema(type=OpenAPIType.STRING),
        "status": Schema(type=OpenAPIType.INTEGER),
        "detail": Schema(type=OpenAPIType.STRING, description="client-safe explanation"),
        "instance": Schema(type=OpenAPIType.STRING),
    },
    description="RFC 9457 problem details",
)

_DESCRIPTIONS = {
    "400": "Malformed request (problem details)",
    "401": "Missing or invalid access token (problem details; WWW-Authenticate: Bearer)",
    "403": "The caller's role may not do this (problem details)",
    "404": "No such resource, or not the caller's (problem details)",
    "409": "Conflicts with the resource's state (problem details)",
    "410": "Expired, exhausted or revoked (problem details)",
    "413": "Body too large (problem details)",
    "415": "Unsupported media type (problem details)",
    "416": "Range not satisfiable (problem details)",
    "422": "Unusable content, e.g. a malformed PDF (problem details)",
    "502": "A stored object failed its integrity check; nothing was served (problem details)",
    "503": "Database, object store, key provider, audit log or identity provider unavailable (problem details)",
}


def _codes(path: str, method: str, public: bool) -> list[str]:
    codes = ["400", "503"]
    if not public:
        codes += ["401", "403"]
    if "{" in path:
        codes.append("404")
    if method in {"post", "put", "patch"}:
        codes += ["413", "415", "422"]
    if path.endswith("/content") or path.startswith("/s/"):
        codes += ["416", "502"]
    if path.startswith("/s/"):
        codes.append("410")
    if method in {"post", "delete"} and "{" in path:
        codes.append("409")
    return codes


def _public_operations(app: Litestar) -> set[tuple[str, str]]:
    """(path template, method) of handlers that opted out of authentication."""
    public: set[tuple[str, str]] = set()
    for route in app.routes:
        path = re.sub(r"\{(\w+):[^}]+\}", r"{\1}", route.path)
        for handler in getattr(route, "route_handlers", []):
            if handler.opt.get("exclude_from_auth"):
                public.update((path, method.lower()) for method in handler.http_methods)
    return public


def document_problem_responses(app: Litestar) -> None:
    """Add the problem responses of every operation to the (cached) OpenAPI schema; mark public ones."""
    public_operations = _public_operations(app)
    schema = app.openapi_schema
    schema.components = schema.components or Components()
    schema.components.schemas = {**(schema.components.schemas or {}), "Problem": PROBLEM_SCHEMA}
    reference = Reference(ref="#/components/schemas/Problem")
    for path, item in (schema.paths or {}).items():
        for method in ("get", "post", "put", "patch", "delete", "head"):
            operation = getattr(item, method, None)
            if operation is None:
                continue
            public = (path, method) in public_operations
            if public:
                operation.security = []
            responses = dict(operation.responses or {})
            for code in _codes(path, method, public):
                # Litestar documents its validation 400 as plain JSON; ours renders every error as a problem.
                responses[code] = OpenAPIResponse(
                    description=_DESCRIPTIONS[code],
                    content={"application/problem+json": OpenAPIMediaType(schema=reference)},
                )
            operation.responses = responses
    _document_raw_bodies(schema)


# Operations whose body is the document itself, streamed (Litestar cannot infer them from a `data` parameter).
RAW_BODIES = {
    ("/api/v1/documents", "post"): ("application/octet-stream", "multipart/form-data"),
    ("/api/v1/documents/{document_id}/versions", "post"): ("application/octet-stream", "multipart/form-data"),
    ("/api/v1/verify", "post"): ("application/pdf",),
    ("/api/v1/citizens/{subject}/documents", "post"): ("application/pdf",),
}
DOCS_ASSETS = "/schema/assets"


def _operation_id(handler: Any, method: Any, _components: list[Any]) -> str:
    """Stable, readable operation ids: `<tag>.<handler>` (e.g. `documents.download`, `documents.download.head`
    for the second method of one handler)."""
    tags = handler.resolve_tags() or ["vault"]
    name = f"{tags[0]}.{handler.handler_name}"
    methods = sorted(str(m) for m in handler.http_methods)
    return name if str(method) == methods[-1] or len(methods) == 1 else f"{name}.{str(method).lower()}"


def openapi_config() -> OpenAPIConfig:
    """OpenAPI at /schema, its UI served from local assets (no request leaves the deployment)."""
    assets = DOCS_ASSETS
    return OpenAPIConfig(
        title="Citizen Vault",
        version="1",
        description="Encrypted document vault and e-signature service.",
        path="/schema",
        operation_id_creator=_operation_id,
        render_plugins=[
            SwaggerRenderPlugin(
                js_url=f"{assets}/swagger-ui-bundle.js",
                css_url=f"{assets}/swagger-ui.css",
                standalone_preset_js_url=f"{assets}/swagger-ui-standalone-preset.js",
                path="/swagger",
                favicon=f"<link rel='icon' type='image/png' href='{assets}/favicon-32x32.png'>",
            )
        ],
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(
                    type="http", scheme="bearer", bearer_format="JWT", description="OIDC access token"
                )
            }
        ),
        security=[{"bearer": []}],
    )


def docs_assets_router() -> Router:
    """The Swagger UI files, from the `swagger-ui-bundle` package."""
    from swagger_ui_bundle import swagger_ui_path

    return create_static_files_router(
        path=DOCS_ASSETS, directories=[swagger_ui_path], include_in_schema=False, opt={"exclude_from_auth": True}
    )


def _document_raw_bodies(schema: Any) -> None:
    for (path, method), media_types in RAW_BODIES.items():
        operation = getattr((schema.paths or {}).get(path), method, None)
        if operation is not None:
            binary = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
            operation.request_body = RequestBody(
                required=True,
                description="the document, streamed (raw body) or as the `file` part of a form",
                content={media: OpenAPIMediaType(schema=binary) for media in media_types},
            )
