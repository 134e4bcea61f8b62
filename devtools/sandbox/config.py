"""Sandbox settings: OAuth client registration, lifetimes and rate limits."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

DEFAULT_REDIRECT_URIS = (
    "http://127.0.0.1:8000/integrations/pagerduty/callback",
    "http://localhost:8000/integrations/pagerduty/callback",
)

# Classic User OAuth scopes plus the Scoped OAuth scopes the sandbox knows about.
CLASSIC_SCOPES = frozenset({"read", "write"})
SCOPED_SCOPES = frozenset(
    {
        "services.read",
        "services.write",
        "users.read",
        "teams.read",
        "incidents.read",
        "incidents.write",
        "oncalls.read",
        "webhook_subscriptions.read",
        "webhook_subscriptions.write",
    }
)

# Settings that tests may change at runtime through POST /_sandbox/config.
RUNTIME_KEYS = (
    "token_lifetime",
    "refresh_token_lifetime",
    "code_lifetime",
    "require_pkce",
    "rest_rate_limit",
    "rest_rate_window",
    "events_rate_limit",
    "events_rate_window",
    "webhook_timeout",
    "webhook_retry_delay",
    "webhook_retry_max_delay",
    "webhook_retry_window",
    "id_token_issuer",
)


@dataclass(frozen=True)
class SandboxConfig:
    """Everything that is configurable about one sandbox process."""

    client_id: str = "sandbox-client-id"
    client_secret: str = "sandbox-client-secret"  # noqa: S105 - well-known sandbox value
    client_name: str = "Tripwire (sandbox app)"
    redirect_uris: tuple[str, ...] = DEFAULT_REDIRECT_URIS
    allowed_scopes: frozenset[str] = field(default=CLASSIC_SCOPES | SCOPED_SCOPES)
    token_lifetime: int = 3600
    refresh_token_lifetime: int = 210 * 24 * 3600
    code_lifetime: int = 30
    # PagerDuty makes PKCE optional for Classic User OAuth confidential clients;
    # set True to make the sandbox insist on it for every authorization request.
    require_pkce: bool = False
    rest_rate_limit: int = 960
    rest_rate_window: float = 60.0
    events_rate_limit: int = 120
    events_rate_window: float = 60.0
    # Webhooks v3 delivery (webhooks--02-Behavior.md): a 2xx is expected within 5 s; failures
    # are retried with growing delays for up to 48 hours. Tests shorten these.
    webhook_timeout: float = 5.0
    webhook_retry_delay: float = 30.0
    webhook_retry_max_delay: float = 3600.0
    webhook_retry_window: float = 48 * 3600.0
    # The id_token's `iss`; empty: this host's identity base + PagerDuty's issuer path. Tests
    # set another to play a token from someone else.
    id_token_issuer: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SandboxConfig:
        """Build a config from SANDBOX_* environment variables."""
        env = os.environ if environ is None else environ
        kwargs: dict[str, Any] = {}
        if "SANDBOX_CLIENT_ID" in env:
            kwargs["client_id"] = env["SANDBOX_CLIENT_ID"]
        if "SANDBOX_CLIENT_SECRET" in env:
            kwargs["client_secret"] = env["SANDBOX_CLIENT_SECRET"]
        if env.get("SANDBOX_REDIRECT_URIS"):
            uris = [u.strip() for u in env["SANDBOX_REDIRECT_URIS"].split(",") if u.strip()]
            kwargs["redirect_uris"] = tuple(uris)
        if "SANDBOX_TOKEN_LIFETIME" in env:
            kwargs["token_lifetime"] = int(env["SANDBOX_TOKEN_LIFETIME"])
        if "SANDBOX_CODE_LIFETIME" in env:
            kwargs["code_lifetime"] = int(env["SANDBOX_CODE_LIFETIME"])
        if "SANDBOX_REQUIRE_PKCE" in env:
            kwargs["require_pkce"] = env["SANDBOX_REQUIRE_PKCE"].lower() in {"1", "true", "yes"}
        return cls(**kwargs)

    def with_runtime(self, changes: Mapping[str, Any]) -> SandboxConfig:
        """Return a copy with runtime-tunable values changed (validated)."""
        unknown = set(changes) - set(RUNTIME_KEYS)
        if unknown:
            raise ValueError(f"unknown or read-only settings: {', '.join(sorted(unknown))}")
        types = {f.name: f.type for f in fields(self)}
        clean: dict[str, Any] = {}
        for key, value in changes.items():
            if types[key] == "str":
                if not isinstance(value, str):
                    raise ValueError(f"{key} must be a string")
                clean[key] = value
                continue
            if types[key] == "bool":
                if not isinstance(value, bool):
                    raise ValueError(f"{key} must be a boolean")
                clean[key] = value
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"{key} must be a positive number")
            clean[key] = float(value) if types[key] == "float" else int(value)
        return replace(self, **clean)

    def public(self) -> dict[str, Any]:
        """JSON-friendly view for the control API and the inbox."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["redirect_uris"] = list(self.redirect_uris)
        data["allowed_scopes"] = sorted(self.allowed_scopes)
        return data
