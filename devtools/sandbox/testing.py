"""Helpers for tests: run the sandbox in a subprocess and drive its control API.

Typical pytest use::

    @pytest.fixture(scope="session")
    def sandbox():
        with SandboxProcess() as proc:
            yield proc

``SandboxProcess`` is a ``SandboxClient`` too, so ``sandbox.reset()``,
``sandbox.fault("events-us", "500")``, ``sandbox.events(routing_key=...)`` work directly.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import requests

REST_ACCEPT = "application/vnd.pagerduty+json;version=2"
REPO_ROOT = Path(__file__).resolve().parents[2]


def form_field(html: str, name: str) -> str:
    """Value of a hidden ``<input name=... value=...>`` in a sandbox page."""
    match = re.search(rf'name="{re.escape(name)}" value="([^"]+)"', html)
    if match is None:
        raise RuntimeError(f"no {name!r} field in page:\n{html[:2000]}")
    return match.group(1)


def pkce_pair() -> tuple[str, str]:
    """A fresh ``(code_verifier, code_challenge)`` for S256 PKCE."""
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(48)).rstrip(b"=").decode()
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class SandboxClient:
    """Thin client for a running sandbox's control API and its HTML sign-in flow."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.http = requests.Session()

    # -------------------------------------------------------------- base URLs per host
    @property
    def identity_url(self) -> str:
        return f"{self.url}/identity"

    def rest_url(self, region: str = "us") -> str:
        return f"{self.url}/rest/{region}"

    def events_url(self, region: str = "us") -> str:
        return f"{self.url}/events/{region}"

    # -------------------------------------------------------------- control API
    def _control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(
            method, f"{self.url}/_sandbox{path}", timeout=self.timeout, **kwargs
        )
        if response.status_code >= 400:
            raise RuntimeError(f"sandbox control {method} {path}: {response.text}")
        return response.json()

    def health(self) -> bool:
        try:
            return self._control("GET", "/health").get("status") == "ok"
        except (requests.RequestException, RuntimeError, ValueError):
            return False

    def reset(self) -> None:
        self._control("POST", "/reset")

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Change runtime settings, e.g. ``token_lifetime=1, events_rate_limit=3``."""
        return self._control("POST", "/config", json=settings)

    def config(self) -> dict[str, Any]:
        return self._control("GET", "/config")

    def fault(self, host: str, mode: str, count: int = 1, seconds: float = 0.0) -> dict[str, Any]:
        """Make the next ``count`` requests to ``host`` fail with ``mode``."""
        body = {"host": host, "mode": mode, "count": count, "seconds": seconds}
        return self._control("POST", "/faults", json=body)

    def clear_faults(self) -> None:
        self._control("DELETE", "/faults")

    def events(self, **filters: Any) -> list[dict[str, Any]]:
        """Events API requests received (filters: routing_key, dedup_key, host, kind, ...)."""
        return self._control("GET", "/events", params=filters)["events"]

    def alerts(self, **filters: Any) -> list[dict[str, Any]]:
        """Alerts with their events (filters: routing_key, dedup_key, status, service_id)."""
        return self._control("GET", "/alerts", params=filters)["alerts"]

    def requests_log(self, host: str | None = None) -> list[dict[str, Any]]:
        params = {"host": host} if host else {}
        return self._control("GET", "/requests", params=params)["requests"]

    def accounts(self) -> list[dict[str, Any]]:
        return self._control("GET", "/accounts")["accounts"]

    def account(self, region: str) -> dict[str, Any]:
        return next(a for a in self.accounts() if a["region"] == region)

    def add_integration(self, service_id: str, name: str = "Sandbox") -> dict[str, Any]:
        body = {"service_id": service_id, "name": name}
        return self._control("POST", "/integrations", json=body)

    def remove_integration(self, integration_id: str) -> None:
        """Remove an integration as a person would in PagerDuty's web app."""
        self._control("DELETE", f"/integrations/{integration_id}")

    def delete_service(self, service_id: str, region: str = "us") -> None:
        """Delete a service through the REST API (`DELETE /services/{id}`), with the
        account's API key, as a person or a script would in PagerDuty."""
        response = self.http.delete(
            f"{self.rest_url(region)}/services/{service_id}",
            headers={
                "Authorization": f"Token token={self.account(region)['api_key']}",
                "Accept": REST_ACCEPT,
            },
            timeout=self.timeout,
        )
        if response.status_code != 204:
            raise RuntimeError(f"sandbox DELETE /services/{service_id}: {response.text}")

    def orchestrations(self, **filters: Any) -> list[dict[str, Any]]:
        """Global Event Orchestrations with their routing keys (filter: account_id)."""
        return self._control("GET", "/orchestrations", params=filters)["orchestrations"]

    def add_orchestration(self, service_id: str, name: str = "Sandbox") -> dict[str, Any]:
        """A new orchestration whose router sends every event to ``service_id``."""
        body = {"service_id": service_id, "name": name}
        return self._control("POST", "/orchestrations", json=body)

    def route_orchestration(self, orchestration_id: str, service_id: str | None) -> None:
        """Point the router's catch-all at another service (None: unrouted)."""
        body = {"service_id": service_id}
        self._control("POST", f"/orchestrations/{orchestration_id}/route", json=body)

    def set_urgency_rule(
        self, service_id: str, rule: dict[str, Any], support_hours: dict[str, Any] | None = None
    ) -> None:
        """The service's `incident_urgency_rule` (and `support_hours`), as PagerDuty's
        settings would make it: served by GET /services/<id>, applied to new incidents."""
        body = {"incident_urgency_rule": rule, "support_hours": support_hours}
        self._control("POST", f"/services/{service_id}/urgency_rule", json=body)

    def issue_token(self, email: str, scope: str = "write") -> dict[str, Any]:
        """Tokens for ``email`` without the browser flow (same shape as /oauth/token)."""
        body = {"email": email, "scope": scope}
        return self._control("POST", "/tokens", json=body)

    def expire_tokens(self, **which: Any) -> int:
        """``access_token=...``, ``refresh_token=...`` or ``all=True``."""
        return int(self._control("POST", "/tokens/expire", json=which)["expired"])

    def revoke_tokens(self, **which: Any) -> int:
        return int(self._control("POST", "/tokens/revoke", json=which)["revoked_grants"])

    # -------------------------------------------------------------- incidents & webhooks
    def incidents(self, **filters: Any) -> list[dict[str, Any]]:
        """Incidents with notes and log (filters: account_id, service_id, status, ...)."""
        return self._control("GET", "/incidents", params=filters)["incidents"]

    def set_incident_status(
        self, incident_id: str, status: str, email: str | None = None
    ) -> dict[str, Any]:
        """Change an incident as ``email`` (default: the account's first user) would."""
        body = {"status": status, **({"email": email} if email else {})}
        return self._control("POST", f"/incidents/{incident_id}/status", json=body)

    def webhook_subscriptions(self) -> list[dict[str, Any]]:
        """Every subscription with its signing ``secrets`` (newest first)."""
        return self._control("GET", "/webhook_subscriptions")["webhook_subscriptions"]

    def rotate_webhook_secret(self, subscription_id: str) -> dict[str, Any]:
        """A new secret; the old one keeps signing too until ``drop_old_webhook_secrets``."""
        return self._control("POST", f"/webhook_subscriptions/{subscription_id}/rotate_secret")

    def drop_old_webhook_secrets(self, subscription_id: str) -> dict[str, Any]:
        return self._control("POST", f"/webhook_subscriptions/{subscription_id}/drop_old_secrets")

    def disable_webhook_subscription(self, subscription_id: str) -> dict[str, Any]:
        """Disable it as PagerDuty does after repeated failures."""
        return self._control("POST", f"/webhook_subscriptions/{subscription_id}/disable")

    def webhook_deliveries(self, **filters: Any) -> list[dict[str, Any]]:
        """Webhooks sent or tried (filters: subscription_id, event_type, incident_id, status,
        webhook_id, account_id), each with ``body``, ``headers`` and ``attempts``."""
        return self._control("GET", "/webhook_deliveries", params=filters)["webhook_deliveries"]

    def wait_for_deliveries(
        self, count: int, timeout: float = 10.0, done: bool = True, **filters: Any
    ) -> list[dict[str, Any]]:
        """Poll until ``count`` matching deliveries exist (and, with ``done``, are finished)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.webhook_deliveries(**filters)
            finished = [d for d in found if d["status"] not in {"queued", "retrying"}]
            if len(finished if done else found) >= count:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(found)} deliveries matching {filters}: {found}")
            time.sleep(0.05)

    def redeliver(self, delivery_id: str) -> dict[str, Any]:
        """Send a past webhook again now, once, with the same X-Webhook-Id (a new record)."""
        return self._control("POST", f"/webhook_deliveries/{delivery_id}/redeliver")

    # -------------------------------------------------------------- browser flow
    def authorize(
        self,
        params: dict[str, str],
        *,
        email: str = "oncall@acme.example",
        password: str | None = None,
        approve: bool = True,
        session: requests.Session | None = None,
    ) -> str:
        """Drive /oauth/authorize like a user would; return the final redirect Location."""
        http = session or requests.Session()
        if password is None:
            user = next(u for a in self.accounts() for u in a["users"] if u["email"] == email)
            password = user["password"]
        url = f"{self.identity_url}/oauth/authorize?{urlencode(params)}"
        page = http.get(url, allow_redirects=False, timeout=self.timeout)
        if page.is_redirect:
            return page.headers["Location"]
        if 'name="password"' in page.text:
            page = http.post(
                urljoin(page.url, "/identity/oauth/authorize/sign_in"),
                data={
                    "csrf_token": form_field(page.text, "csrf_token"),
                    "request_id": form_field(page.text, "request_id"),
                    "email": email,
                    "password": password,
                },
                timeout=self.timeout,
            )
        if "Approve" not in page.text:
            raise RuntimeError(f"expected the consent page, got:\n{page.text[:2000]}")
        decision = http.post(
            urljoin(page.url, "/identity/oauth/authorize/decision"),
            data={
                "csrf_token": form_field(page.text, "csrf_token"),
                "request_id": form_field(page.text, "request_id"),
                "decision": "approve" if approve else "deny",
            },
            allow_redirects=False,
            timeout=self.timeout,
        )
        if not decision.is_redirect:
            raise RuntimeError(f"expected a redirect, got {decision.status_code}: {decision.text}")
        return decision.headers["Location"]


def redirect_params(location: str) -> dict[str, str]:
    """Query parameters of a redirect Location, single-valued."""
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class SandboxProcess(SandboxClient):
    """The sandbox running as ``python -m devtools.sandbox`` on a free port."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int | None = None,
        env: dict[str, str] | None = None,
        startup_timeout: float = 20.0,
        log_path: Path | None = None,
    ) -> None:
        self.host = host
        self._auto_port = port is None
        self.port = port or free_port(host)
        super().__init__(f"http://{host}:{self.port}")
        self.env = env or {}
        self.startup_timeout = startup_timeout
        self.log_path = log_path or Path(tempfile.gettempdir()) / f"pd-sandbox-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Self:
        """Start the process and wait until it answers; retries another free port on a clash."""
        for attempt in range(3):
            if self._launch():
                return self
            if not self._auto_port or attempt == 2:
                break
            self.port = free_port(self.host)
            self.url = f"http://{self.host}:{self.port}"
        raise RuntimeError(f"sandbox did not start:\n{self.log_path.read_text()}")

    def _launch(self) -> bool:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - fixed argv, our own module
                [
                    sys.executable,
                    "-m",
                    "devtools.sandbox",
                    "--host",
                    self.host,
                    "--port",
                    str(self.port),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.env},
                cwd=REPO_ROOT,
            )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                return False
            if self.health():
                return True
            time.sleep(0.05)
        self.stop()
        return False

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None
        self.http.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
