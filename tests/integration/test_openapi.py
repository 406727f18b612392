"""The OpenAPI document at /schema lists every route, its errors as problem details, and which routes are public."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.testing import TestClient


def _template(path: str) -> str:
    return re.sub(r"\{(\w+):[^}]+\}", r"{\1}", path)


def test_schema_lists_every_route_with_problem_responses(client: TestClient[Litestar]) -> None:
    response = client.get("/schema/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert "Problem" in schema["components"]["schemas"]
    documented = schema["paths"]
    for route in client.app.routes:
        path = _template(route.path)
        if path.startswith(("/schema", "/dev-idp")):
            continue
        if not any(handler.resolve_include_in_schema() for handler in getattr(route, "route_handlers", [])):
            continue  # the portal's HTML pages and static files: not API
        assert path in documented, f"{path} is not in the OpenAPI document"
        for method, operation in documented[path].items():
            errors = {code for code in operation["responses"] if code.startswith(("4", "5"))}
            assert "503" in errors, (method, path)
            assert all("application/problem+json" in operation["responses"][code]["content"] for code in errors), (
                method,
                path,
            )


def test_schema_marks_public_routes_and_requires_bearer_elsewhere(client: TestClient[Litestar]) -> None:
    schema = client.get("/schema/openapi.json").json()
    assert schema["security"] == [{"bearer": []}]
    assert schema["paths"]["/health"]["get"]["security"] == []
    assert schema["paths"]["/api/v1/verify"]["post"]["security"] == []
    documents = schema["paths"]["/api/v1/documents"]
    assert documents["get"].get("security") != []
    assert "401" in documents["get"]["responses"]
