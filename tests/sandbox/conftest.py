"""Fixtures for the PagerDuty sandbox tests: everything goes over real HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from jsonschema import Draft7Validator
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from devtools.sandbox.testing import REST_ACCEPT, SandboxProcess

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = REPO_ROOT / "devtools" / "contracts" / "pagerduty"
US_EMAIL = "oncall@acme.example"
EU_EMAIL = "oncall@acme-eu.example"
# Webhooks v3 bodies have no published schema; these follow webhooks--01-Overview.md (the
# payload table and the ``incident`` / ``incident_note`` data), and references inside them
# are checked against REST.openapi.json.
_REF = {"type": "object", "required": ["id", "type", "summary", "self", "html_url"]}
_WEBHOOK = {
    "type": "object",
    "required": ["event"],
    "additionalProperties": False,
    "properties": {
        "event": {
            "type": "object",
            "additionalProperties": False,
            "required": [
                "id",
                "event_type",
                "resource_type",
                "occurred_at",
                "agent",
                "client",
                "data",
            ],
            "properties": {
                "id": {"type": "string", "minLength": 1},
                "event_type": {"type": "string", "pattern": "^incident\\."},
                "resource_type": {"const": "incident"},
                "occurred_at": {"type": "string", "pattern": "^[0-9T:-]{19}\\.[0-9]{3}Z$"},
                "agent": {"oneOf": [{"type": "null"}, _REF]},
                "client": {"oneOf": [{"type": "null"}, {"type": "object", "required": ["name"]}]},
                "data": {"type": "object", "required": ["type"]},
            },
        }
    },
}
_INCIDENT_DATA = {
    "type": "object",
    "required": [
        "id",
        "type",
        "self",
        "html_url",
        "number",
        "status",
        "incident_key",
        "created_at",
        "title",
        "service",
        "assignees",
        "escalation_policy",
        "teams",
        "priority",
        "urgency",
        "conference_bridge",
        "resolve_reason",
    ],
    "properties": {
        "type": {"const": "incident"},
        "number": {"type": "integer"},
        "status": {"enum": ["triggered", "acknowledged", "resolved"]},
        "urgency": {"enum": ["high", "low"]},
        "assignees": {"type": "array"},
        "teams": {"type": "array"},
    },
}
_NOTE_DATA = {
    "type": "object",
    "required": ["incident", "id", "content", "trimmed", "type"],
    "properties": {"type": {"const": "incident_note"}, "content": {"type": "string"}},
}


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    """One sandbox process for the whole session, on a free port (log in pytest's tmp)."""
    log_path = tmp_path_factory.mktemp("pagerduty-sandbox") / "sandbox.log"
    with SandboxProcess(log_path=log_path) as proc:
        yield proc


@pytest.fixture(autouse=True)
def _reset_sandbox(sandbox: SandboxProcess) -> None:
    """Every test starts from the seed (this also releases hanging requests)."""
    sandbox.reset()


@pytest.fixture(scope="session")
def accounts(sandbox: SandboxProcess) -> dict[str, dict[str, Any]]:
    """Seeded accounts by region; IDs and keys are identical after every reset."""
    return {"us": sandbox.account("us"), "eu": sandbox.account("eu")}


class Rest:
    """A tiny REST API v2 client bound to one host and one credential."""

    def __init__(self, base: str, authorization: str | None) -> None:
        self.base = base
        self.http = requests.Session()
        self.http.headers["Accept"] = REST_ACCEPT
        if authorization:
            self.http.headers["Authorization"] = authorization

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.http.request(method, self.base + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)


@pytest.fixture
def rest_factory(sandbox: SandboxProcess):
    """``rest_factory(region, authorization_header)`` → Rest client."""

    def make(region: str, authorization: str | None) -> Rest:
        return Rest(sandbox.rest_url(region), authorization)

    return make


@pytest.fixture
def us_tokens(sandbox: SandboxProcess) -> dict[str, Any]:
    return sandbox.issue_token(US_EMAIL, "write")


@pytest.fixture
def rest_us(rest_factory, us_tokens: dict[str, Any]) -> Rest:
    return rest_factory("us", f"Bearer {us_tokens['access_token']}")


@pytest.fixture
def rest_eu(sandbox: SandboxProcess, rest_factory) -> Rest:
    tokens = sandbox.issue_token(EU_EMAIL, "write")
    return rest_factory("eu", f"Bearer {tokens['access_token']}")


@pytest.fixture
def events_post(sandbox: SandboxProcess):
    """``events_post(body, region="us", change=False)`` → Response."""
    http = requests.Session()

    def post(
        body: Any, region: str = "us", change: bool = False, **kwargs: Any
    ) -> requests.Response:
        path = "/v2/change/enqueue" if change else "/v2/enqueue"
        kwargs.setdefault("timeout", 10)
        if isinstance(body, bytes | str):
            headers = {"Content-Type": "application/json"}
            return http.post(
                sandbox.events_url(region) + path, data=body, headers=headers, **kwargs
            )
        return http.post(sandbox.events_url(region) + path, json=body, **kwargs)

    return post


class Contract:
    """Checks requests/responses against PagerDuty's published OpenAPI documents."""

    def __init__(self, sandbox_url: str) -> None:
        rest = json.loads((SCHEMAS / "REST.openapi.json").read_text())
        rest["servers"] = [{"url": f"{sandbox_url}/rest/us"}, {"url": f"{sandbox_url}/rest/eu"}]
        # The 2.7 MB document is trusted; skip validating the document itself.
        self._rest = OpenAPI.from_dict(rest, config=Config(spec_validator_cls=None))
        events = json.loads((SCHEMAS / "events-v2.openapi.json").read_text())
        events["servers"] = [
            {"url": f"{sandbox_url}/events/us/v2"},
            {"url": f"{sandbox_url}/events/eu/v2"},
        ]
        self._events = OpenAPI.from_dict(events)
        self._events_spec = events
        self._registry = Registry().with_resources(
            [
                ("urn:rest", Resource.from_contents(rest, default_specification=DRAFT4)),
                ("urn:events", Resource.from_contents(events, default_specification=DRAFT4)),
            ]
        )

    def schema_errors(self, ref: str, instance: Any) -> list[str]:
        """Errors of ``instance`` against e.g. ``urn:rest#/components/schemas/Integration``."""
        validator = OAS30Validator({"$ref": ref}, registry=self._registry)
        return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]

    def rest(self, response: requests.Response) -> dict[str, Any]:
        """Validate a REST request and its (2xx) response; return the JSON body."""
        request = RequestsOpenAPIRequest(response.request)
        oauth = str(response.request.headers.get("Authorization", "")).startswith("Bearer ")
        for error in self._rest.iter_request_errors(request):
            # The spec marks every object's ``type`` readOnly (via Tag) yet requires it in
            # create bodies (its own examples send it), so ignore only that complaint.
            schema_errors = getattr(error.__cause__, "schema_errors", None) or ()
            if schema_errors and all("read-only" in e.message for e in schema_errors):
                continue
            # The spec requires ``From`` on incident changes; the REST overview says it
            # names "the user to record as having taken the action", which an OAuth user
            # token already does (only account API keys must send it).
            if oauth and "header parameter: From" in f"{error} {error.__cause__}":
                continue
            raise error
        self._rest.validate_response(request, RequestsOpenAPIResponse(response))
        return response.json() if response.content else {}

    def rest_error(self, response: requests.Response, status: int, code: int) -> dict[str, Any]:
        """A PagerDuty REST error object with the given HTTP status and error code."""
        assert response.status_code == status, response.text
        body = response.json()
        ref = "urn:rest#/components/responses/Conflict/content/application~1json/schema"
        assert self.schema_errors(ref, body) == []
        assert isinstance(body["error"]["message"], str)
        assert body["error"]["code"] == code, body
        return body["error"]  # type: ignore[no-any-return]

    def webhook(self, raw: bytes) -> dict[str, Any]:
        """A delivered webhook body against the documented shape; return it parsed."""
        body = json.loads(raw)
        assert list(Draft7Validator(_WEBHOOK).iter_errors(body)) == [], body
        event = body["event"]
        data = event["data"]
        if event["event_type"] == "incident.annotated":
            assert list(Draft7Validator(_NOTE_DATA).iter_errors(data)) == [], data
            refs = [("IncidentReference", data["incident"])]
        else:
            assert list(Draft7Validator(_INCIDENT_DATA).iter_errors(data)) == [], data
            refs = [("ServiceReference", data["service"])]
            refs += [("EscalationPolicyReference", data["escalation_policy"])]
            refs += [("UserReference", a) for a in data["assignees"]]
            refs += [("TeamReference", t) for t in data["teams"]]
        if event["agent"] is not None:
            refs.append(("AgentReference", event["agent"]))
        for name, ref in refs:
            assert Draft7Validator(_REF).is_valid(ref), ref
            assert self.schema_errors(f"urn:rest#/components/schemas/{name}", ref) == [], ref
        return body  # type: ignore[no-any-return]

    def events(self, response: requests.Response) -> dict[str, Any]:
        """Validate a 202's request and response, or any other response's error body."""
        if response.status_code == 202:
            request = RequestsOpenAPIRequest(response.request)
            self._events.validate_request(request)
            self._events.validate_response(request, RequestsOpenAPIResponse(response))
        else:
            ref = "urn:events#/components/responses/Error/content/application~1json/schema"
            errors = self.schema_errors(ref, response.json())
            assert errors == [], errors
        return response.json()  # type: ignore[no-any-return]

    def events_request_errors(self, body: dict[str, Any], change: bool = False) -> list[str]:
        path = "/change/enqueue" if change else "/enqueue"
        schema = self._events_spec["paths"][path]["post"]["requestBody"]["content"][
            "application/json"
        ]["schema"]
        validator = OAS30Validator(
            {**schema, "components": self._events_spec["components"]}, registry=self._registry
        )
        return [e.message for e in validator.iter_errors(body)]


@pytest.fixture(scope="session")
def contract(sandbox: SandboxProcess) -> Contract:
    """Loaded once per session."""
    return Contract(sandbox.url)


def trigger_body(routing_key: str, **overrides: Any) -> dict[str, Any]:
    """A valid trigger event (helper shared through the ``trigger`` fixture)."""
    body: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "payload": {
            "summary": "Disk almost full on db-1",
            "source": "db-1.acme.example",
            "severity": "critical",
            # RFC 3339: valid for both the docs (ISO 8601) and the spec (format: date-time).
            "timestamp": "2015-07-17T08:42:58.315Z",
            "component": "postgres",
            "group": "prod-datapipe",
            "class": "disk",
            "custom_details": {"free space": "1%"},
        },
        "client": "Alerts SaaS",
        "client_url": "https://alerts.example",
    }
    body.update(overrides)
    return body


@pytest.fixture
def trigger():
    return trigger_body


@pytest.fixture
def us_key(sandbox: SandboxProcess, accounts: dict[str, dict[str, Any]]) -> str:
    """A fresh Events API v2 routing key on a US service."""
    service = next(s for s in accounts["us"]["services"] if s["name"] == "Checkout API 001")
    return str(sandbox.add_integration(service["id"], "Tests")["integration_key"])


@pytest.fixture
def eu_key(sandbox: SandboxProcess, accounts: dict[str, dict[str, Any]]) -> str:
    service = next(s for s in accounts["eu"]["services"] if s["name"] == "Billing EU")
    return str(sandbox.add_integration(service["id"], "Tests")["integration_key"])


class Receiver:
    """A webhook endpoint in the test process: records each request, answers as told."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.replies: list[int | str] = []  # next answers: a status code or "hang"
        self.hang_seconds = 2.0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.received.append(
                        {"path": self.path, "headers": dict(self.headers.items()), "raw": raw}
                    )
                    reply = receiver.replies.pop(0) if receiver.replies else 202
                if reply == "hang":
                    time.sleep(receiver.hang_seconds)
                    reply = 202
                self.send_response(int(reply))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/webhooks"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def wait(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} of {count} webhooks"
            time.sleep(0.02)
        return self.received

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r["raw"]) for r in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.server.shutdown()
    server.server.server_close()
