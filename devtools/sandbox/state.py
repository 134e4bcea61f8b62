"""In-memory model of the PagerDuty accounts the sandbox serves, guarded by one lock."""

from __future__ import annotations

import itertools
import logging
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from .config import SandboxConfig
from .faults import FaultRegistry
from .ids import IdFactory
from .notify import (
    AlertChange,
    AlertObserver,
    AlertStatus,
    ChangeSource,
    IncidentEvent,
    IncidentObserver,
)
from .ratelimit import SlidingWindowLimiter

if TYPE_CHECKING:
    from .delivery import Delivery
    from .incident_model import Agent, Incident
    from .schedules import Schedule

log = logging.getLogger(__name__)

Region = Literal["us", "eu"]
EVENTS_INTEGRATION_TYPES = frozenset(
    {"events_api_v2_inbound_integration", "generic_events_api_inbound_integration"}
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime | None) -> str | None:
    """PagerDuty-style timestamp, e.g. ``2024-01-15T10:00:00Z``."""
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ") if dt else None


def iso_precise(dt: datetime) -> str:
    """Timestamp with microseconds, for receipt times."""
    return dt.isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass
class Account:
    id: str
    name: str
    subdomain: str
    region: Region
    api_key: str

    @property
    def api_base(self) -> str:
        """The public REST host of this account's service region."""
        return (
            "https://api.pagerduty.com" if self.region == "us" else "https://api.eu.pagerduty.com"
        )

    @property
    def web_base(self) -> str:
        domain = "pagerduty.com" if self.region == "us" else "eu.pagerduty.com"
        return f"https://{self.subdomain}.{domain}"


@dataclass
class User:
    id: str
    account_id: str
    name: str
    email: str
    password: str
    role: str = "admin"
    time_zone: str = "Etc/UTC"
    job_title: str = "On-call engineer"
    color: str = "green"
    team_ids: list[str] = field(default_factory=list)
    contact_method_id: str = ""
    notification_rule_id: str = ""


@dataclass
class Team:
    id: str
    account_id: str
    name: str
    description: str = ""


@dataclass
class EscalationPolicy:
    id: str
    account_id: str
    name: str
    levels: list[list[str]] = field(default_factory=list)  # schedule ids per level


@dataclass
class Service:
    id: str
    account_id: str
    name: str
    description: str
    team_ids: list[str]
    escalation_policy_id: str
    created_at: datetime
    integration_ids: list[str] = field(default_factory=list)


@dataclass
class Integration:
    id: str
    account_id: str
    service_id: str
    type: str
    name: str
    created_at: datetime
    integration_key: str | None = None
    integration_email: str | None = None


@dataclass
class Alert:
    id: str
    account_id: str
    service_id: str
    integration_id: str
    dedup_key: str
    status: AlertStatus
    summary: str
    severity: str
    source: str
    created_at: datetime
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    event_ids: list[str] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    incident_id: str = ""


@dataclass
class ReceivedEvent:
    """One request received by an Events API host (accepted or not)."""

    id: str
    seq: int
    host: str
    kind: Literal["alert", "change"]
    path: str
    received_at: datetime
    raw: str
    body: Any
    status_code: int = 0
    response: Any = None
    outcome: str = ""
    routing_key: str | None = None
    dedup_key: str | None = None
    event_action: str | None = None
    alert_id: str | None = None
    integration_id: str | None = None
    service_id: str | None = None
    account_id: str | None = None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "seq": self.seq,
            "host": self.host,
            "kind": self.kind,
            "path": self.path,
            "received_at": iso_precise(self.received_at),
            "received_at_epoch": self.received_at.timestamp(),
            "status_code": self.status_code,
            "outcome": self.outcome,
            "routing_key": self.routing_key,
            "dedup_key": self.dedup_key,
            "event_action": self.event_action,
            "alert_id": self.alert_id,
            "integration_id": self.integration_id,
            "service_id": self.service_id,
            "account_id": self.account_id,
            "body": self.body,
            "raw": self.raw,
            "response": self.response,
        }


@dataclass
class WebhookSubscription:
    id: str
    account_id: str
    delivery_method_id: str
    url: str
    custom_headers: list[dict[str, str]]
    description: str
    events: list[str]
    filter: dict[str, Any]
    active: bool
    secret: str
    created_at: datetime
    previous_secrets: list[str] = field(default_factory=list)  # still signing (rotation)
    temporarily_disabled: bool = False
    disabled_until: datetime | None = None
    consecutive_failures: int = 0

    @property
    def signing_secrets(self) -> list[str]:
        return [self.secret, *self.previous_secrets]


@dataclass
class PendingAuthorization:
    """A validated /oauth/authorize request waiting for sign-in and consent."""

    id: str
    client_id: str
    redirect_uri: str
    scope: str  # what will be granted
    scope_requested: str
    state: str | None
    code_challenge: str | None
    created_at: float


@dataclass
class AuthCode:
    code: str
    client_id: str
    user_id: str
    redirect_uri: str
    scope: str
    code_challenge: str | None
    expires_at: float
    auth_time: int
    used: bool = False
    delegation_id: str | None = None


@dataclass
class Delegation:
    """A user's grant to the OAuth client; all its tokens live and die together."""

    id: str
    client_id: str
    user_id: str
    account_id: str
    scope: str
    auth_time: int
    revoked: bool = False


@dataclass
class Token:
    value: str
    kind: Literal["access", "refresh"]
    delegation_id: str
    expires_at: float
    revoked: bool = False

    def usable(self, now: float | None = None) -> bool:
        return not self.revoked and (time.time() if now is None else now) < self.expires_at


@dataclass
class RequestLogEntry:
    host: str
    method: str
    path: str
    status_code: int
    received_at: datetime

    def public(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "method": self.method,
            "path": self.path,
            "status_code": self.status_code,
            "received_at": iso_precise(self.received_at),
        }


def _event_client(body: Any) -> dict[str, Any] | None:
    """The ``client``/``client_url`` an Events API event named, for webhooks' ``event.client``."""
    if not isinstance(body, dict) or not isinstance(body.get("client"), str):
        return None
    client: dict[str, Any] = {"name": body["client"]}
    if isinstance(body.get("client_url"), str):
        client["url"] = body["client_url"]
    return client


def _with_client(event: IncidentEvent, client: dict[str, Any] | None) -> IncidentEvent:
    event.payload["event"]["client"] = client
    return event


class Store:
    """All sandbox state. Public methods take the lock; callers never mutate directly."""

    def __init__(self, config: SandboxConfig) -> None:
        self.lock = threading.RLock()
        self.initial_config = config
        self.faults = FaultRegistry()
        self.limiter = SlidingWindowLimiter()
        self._observers: list[AlertObserver] = []
        self._incident_observers: list[IncidentObserver] = []
        self.public_url = "http://127.0.0.1:8100"  # set by __main__ to where it listens
        self.generation = 0
        self.reset()

    # ------------------------------------------------------------------ lifecycle
    def reset(self) -> None:
        """Forget everything that happened and go back to the seed data."""
        from .incident_model import IncidentDesk  # local imports: both depend on this module
        from .seed import seed

        with self.lock:
            self.generation += 1  # background work of an older generation is dropped
            self.desk = IncidentDesk(self)
            self.config = self.initial_config
            self.ids = IdFactory("pagerduty-sandbox")
            self.accounts: dict[str, Account] = {}
            self.users: dict[str, User] = {}
            self.teams: dict[str, Team] = {}
            self.policies: dict[str, EscalationPolicy] = {}
            self.services: dict[str, Service] = {}
            self.integrations: dict[str, Integration] = {}
            self.integrations_by_key: dict[str, Integration] = {}
            self.alerts: dict[str, Alert] = {}
            self.incidents: dict[str, Incident] = {}
            self.incident_numbers: dict[str, int] = {}
            self.schedules: dict[str, Schedule] = {}
            self.deliveries: list[Delivery] = []
            self.open_alerts: dict[tuple[str, str], str] = {}
            self.events: list[ReceivedEvent] = []
            self.webhook_subscriptions: dict[str, WebhookSubscription] = {}
            self.pending: dict[str, PendingAuthorization] = {}
            self.codes: dict[str, AuthCode] = {}
            self.delegations: dict[str, Delegation] = {}
            self.tokens: dict[str, Token] = {}
            self.request_log: deque[RequestLogEntry] = deque(maxlen=5000)
            self._seq = itertools.count(1)
            seed(self)
            self.faults.clear()
            self.limiter.clear()

    def configure(self, changes: dict[str, Any]) -> SandboxConfig:
        with self.lock:
            self.config = self.config.with_runtime(changes)
            return self.config

    def add_observer(self, observer: AlertObserver) -> None:
        self._observers.append(observer)

    def add_incident_observer(self, observer: IncidentObserver) -> None:
        self._incident_observers.append(observer)

    def dispatch(
        self, changes: Iterable[AlertChange], events: Iterable[IncidentEvent] = ()
    ) -> None:
        """Tell observers, in order; call without holding the lock."""
        for change in changes:
            for observer in list(self._observers):
                try:
                    observer.alert_changed(change)
                except Exception:
                    log.exception("alert observer %r failed", observer)
        for event in events:
            for incident_observer in list(self._incident_observers):
                try:
                    incident_observer.incident_event(event)
                except Exception:
                    log.exception("incident observer %r failed", incident_observer)

    # ------------------------------------------------------------------ lookups
    def account_for_user(self, user: User) -> Account:
        return self.accounts[user.account_id]

    def user_by_email(self, email: str) -> User | None:
        email = email.strip().lower()
        return next((u for u in self.users.values() if u.email.lower() == email), None)

    def account_by_api_key(self, key: str) -> Account | None:
        return next(
            (a for a in self.accounts.values() if secrets.compare_digest(a.api_key, key)), None
        )

    def account_services(self, account_id: str) -> list[Service]:
        with self.lock:
            return sorted(
                (s for s in self.services.values() if s.account_id == account_id),
                key=lambda s: (s.name.lower(), s.id),
            )

    def service_alerts(self, service_id: str) -> list[Alert]:
        with self.lock:
            return sorted(
                (a for a in self.alerts.values() if a.service_id == service_id),
                key=lambda a: a.created_at,
                reverse=True,
            )

    # ------------------------------------------------------------------ integrations
    def add_integration(
        self,
        service: Service,
        type_: str,
        name: str,
        integration_email: str | None = None,
        created_at: datetime | None = None,
    ) -> Integration:
        with self.lock:
            integration = Integration(
                id=self.ids.object_id(),
                account_id=service.account_id,
                service_id=service.id,
                type=type_,
                name=name,
                created_at=created_at or utcnow(),
                integration_key=(
                    self.ids.integration_key() if type_ in EVENTS_INTEGRATION_TYPES else None
                ),
                integration_email=integration_email,
            )
            self.integrations[integration.id] = integration
            if integration.integration_key:
                self.integrations_by_key[integration.integration_key] = integration
            service.integration_ids.append(integration.id)
            return integration

    def remove_integration(self, integration_id: str) -> Integration | None:
        """What a person does on the service's Integrations tab in PagerDuty's web app (the
        published REST API has no such operation): its key stops working at once."""
        with self.lock:
            integration = self.integrations.pop(integration_id, None)
            if integration is None:
                return None
            if integration.integration_key:
                self.integrations_by_key.pop(integration.integration_key, None)
            service = self.services.get(integration.service_id)
            if service is not None and integration_id in service.integration_ids:
                service.integration_ids.remove(integration_id)
            return integration

    def integration_for_key(self, routing_key: str, region: Region) -> Integration | None:
        """The integration owning ``routing_key``, only if its account is in ``region``."""
        with self.lock:
            integration = self.integrations_by_key.get(routing_key)
            if integration is None or self.accounts[integration.account_id].region != region:
                return None
            return integration

    # ------------------------------------------------------------------ events & alerts
    def new_event(self, **fields: Any) -> ReceivedEvent:
        """Create and keep a record of an Events API request."""
        with self.lock:
            seq = next(self._seq)
            event = ReceivedEvent(id=f"evt-{seq:06d}", seq=seq, **fields)
            self.events.append(event)
            return event

    def apply_alert_event(
        self, integration: Integration, event: ReceivedEvent, payload: dict[str, Any]
    ) -> str:
        """Apply a valid trigger/acknowledge/resolve event; returns its outcome."""
        changes: list[AlertChange] = []
        events: list[IncidentEvent] = []
        action, dedup_key = event.event_action, event.dedup_key
        if action is None or dedup_key is None:
            raise ValueError("a validated event has an event_action and a dedup_key")
        now = event.received_at
        with self.lock:
            key = (integration.id, dedup_key)
            alert = self.alerts.get(self.open_alerts.get(key, ""))
            if action == "trigger":
                if alert is None:
                    alert = Alert(
                        id=self.ids.object_id(),
                        account_id=integration.account_id,
                        service_id=integration.service_id,
                        integration_id=integration.id,
                        dedup_key=dedup_key,
                        status="triggered",
                        summary=str(payload.get("summary", "")),
                        severity=str(payload.get("severity", "")),
                        source=str(payload.get("source", "")),
                        created_at=now,
                    )
                    self.alerts[alert.id] = alert
                    self.open_alerts[key] = alert.id
                    changes.append(
                        self.transition_alert(alert, "triggered", "events", now, None, True)
                    )
                    events += self.desk.open(alert, now, _event_client(event.body))
                    outcome = "alert created"
                else:
                    outcome = "deduplicated into open alert"
            elif alert is None:
                outcome = f"dropped: no open alert for dedup_key ({action})"
            elif action == "acknowledge" and alert.status == "acknowledged":
                outcome = "alert already acknowledged"
            else:
                status: AlertStatus = "acknowledged" if action == "acknowledge" else "resolved"
                incident = self.incidents[alert.incident_id]
                agent: Agent = ("service", alert.service_id)
                client = _event_client(event.body)
                changes, events = self.desk.set_status(incident, status, agent, "events", now)
                events = [_with_client(e, client) for e in events]
                outcome = f"alert {status}"
            if alert is not None:
                alert.event_ids.append(event.id)
                event.alert_id = alert.id
            event.outcome = outcome
        self.dispatch(changes, events)
        return outcome

    def set_alert_status(
        self, alert_id: str, status: AlertStatus, user_id: str | None = None
    ) -> Alert | None:
        """Change an alert's status from the inbox (acknowledge/resolve buttons)."""
        with self.lock:
            alert = self.alerts.get(alert_id)
            if alert is None:
                return None
            incident = self.incidents[alert.incident_id]
            agent: Agent | None = ("user", user_id) if user_id else None
            changes, events = self.desk.set_status(incident, status, agent, "inbox", utcnow())
        self.dispatch(changes, events)
        return alert

    def transition_alert(
        self,
        alert: Alert,
        status: AlertStatus,
        via: ChangeSource,
        at: datetime,
        user_id: str | None = None,
        created: bool = False,
    ) -> AlertChange:
        """Move an alert to ``status`` (lock held); resolving frees its dedup key."""
        previous = None if created else alert.status
        alert.status = status
        if status == "acknowledged":
            alert.acknowledged_at = at
        elif status == "resolved":
            alert.resolved_at = at
            self.open_alerts.pop((alert.integration_id, alert.dedup_key), None)
        alert.history.append({"at": iso_precise(at), "status": status, "via": via})
        return AlertChange(alert, previous, status, via, at, user_id)

    def log_request(self, entry: RequestLogEntry) -> None:
        with self.lock:
            self.request_log.append(entry)

    # ------------------------------------------------------------------ OAuth
    def add_pending(self, **fields: Any) -> PendingAuthorization:
        with self.lock:
            pending = PendingAuthorization(
                id=secrets.token_urlsafe(16), created_at=time.time(), **fields
            )
            self.pending[pending.id] = pending
            return pending

    def get_pending(self, pending_id: str, max_age: float = 1800) -> PendingAuthorization | None:
        with self.lock:
            pending = self.pending.get(pending_id)
            if pending and time.time() - pending.created_at > max_age:
                self.pending.pop(pending_id, None)
                return None
            return pending

    def pop_pending(self, pending_id: str) -> PendingAuthorization | None:
        with self.lock:
            return self.pending.pop(pending_id, None)

    def issue_code(self, pending: PendingAuthorization, user: User, auth_time: int) -> AuthCode:
        with self.lock:
            code = AuthCode(
                code=secrets.token_urlsafe(24),
                client_id=pending.client_id,
                user_id=user.id,
                redirect_uri=pending.redirect_uri,
                scope=pending.scope,
                code_challenge=pending.code_challenge,
                expires_at=time.time() + self.config.code_lifetime,
                auth_time=auth_time,
            )
            self.codes[code.code] = code
            return code

    def create_delegation(
        self, client_id: str, user: User, scope: str, auth_time: int
    ) -> Delegation:
        with self.lock:
            delegation = Delegation(
                id=str(uuid.uuid4()),
                client_id=client_id,
                user_id=user.id,
                account_id=user.account_id,
                scope=scope,
                auth_time=auth_time,
            )
            self.delegations[delegation.id] = delegation
            return delegation

    def issue_tokens(self, delegation: Delegation) -> tuple[Token, Token]:
        """New access + refresh token pair for a delegation."""
        with self.lock:
            region = self.accounts[delegation.account_id].region
            marker = secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") + secrets.token_hex(3).upper()
            now = time.time()
            access = Token(
                value=f"pd{region}+_0X{marker}_{uuid.uuid4()}",
                kind="access",
                delegation_id=delegation.id,
                expires_at=now + self.config.token_lifetime,
            )
            refresh = Token(
                value=f"pd{region}+_1X{marker}_{uuid.uuid4()}",
                kind="refresh",
                delegation_id=delegation.id,
                expires_at=now + self.config.refresh_token_lifetime,
            )
            self.tokens[access.value] = access
            self.tokens[refresh.value] = refresh
            return access, refresh

    def revoke_delegation(self, delegation_id: str) -> None:
        with self.lock:
            delegation = self.delegations.get(delegation_id)
            if delegation:
                delegation.revoked = True
            for token in self.tokens.values():
                if token.delegation_id == delegation_id:
                    token.revoked = True

    def token(self, value: str, kind: Literal["access", "refresh"]) -> Token | None:
        with self.lock:
            token = self.tokens.get(value)
            return token if token is not None and token.kind == kind else None
