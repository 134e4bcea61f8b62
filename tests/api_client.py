"""A client for the management API whose every answer is checked against the served
OpenAPI document: the schema of its operation for its status."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from django.test import Client
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

_SPEC: dict[str, OpenAPI] = {}


def served_spec() -> OpenAPI:
    """The document /api/v1/openapi.json serves (read once per test session)."""
    if "spec" not in _SPEC:
        response = Client().get("/api/v1/openapi.json")
        assert response.status_code == 200
        _SPEC["spec"] = OpenAPI.from_dict(response.json())
    return _SPEC["spec"]


def check_against_document(method: str, path: str, query: dict[str, Any], response: Any) -> None:
    """The answer matches what the served document says its operation answers with that
    status: the status is listed, and the body fits its schema."""
    content_type = response.get("Content-Type", "application/json").split(";")[0]
    request = MockRequest("http://testserver", method.lower(), path, args=query)
    served_spec().validate_response(
        request,
        MockResponse(response.content, status_code=response.status_code, content_type=content_type),
    )


class Api:
    """Calls the API with a token, checks each answer against the document. A path may be
    a `next` or `previous` link as the API gave it."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.client = Client(raise_request_exception=False)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: dict[str, Any] | None = None,
        status: int | None = None,
        **headers: str,
    ) -> Any:
        path, _, given = path.removeprefix("http://testserver/api/v1").partition("?")
        url = f"/api/v1{path}"
        query = {**dict(parse_qsl(given)), **(query or {})}
        query = {k: v for k, v in query.items() if v is not None}
        full = f"{url}?{urlencode(query)}" if query else url
        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
        if self.secret:
            extra["HTTP_AUTHORIZATION"] = f"Bearer {self.secret}"
        data = orjson.dumps(body) if body is not None and not isinstance(body, bytes) else body
        response = getattr(self.client, method.lower())(
            full, data=data, content_type="application/json", **extra
        )
        if status is not None:
            assert response.status_code == status, response.content[:1000]
        check_against_document(method, url, {k: str(v) for k, v in query.items()}, response)
        return response

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.call("POST", path, body, **kwargs)

    def put(self, path: str, body: Any, **kwargs: Any) -> Any:
        return self.call("PUT", path, body, **kwargs)

    def patch(self, path: str, body: Any, **kwargs: Any) -> Any:
        return self.call("PATCH", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.call("DELETE", path, **kwargs)
