"""In-memory model of the PagerDuty accounts the sandbox serves, guarded by one lock."""

from __future__ import annotations

import itertools
import logging
import secrets
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from .alerting import Alert, AlertingStore
from .clock import iso_precise, utcnow
from .config import SandboxConfig
from .faults import FaultRegistry
from .ids import IdFactory
from .notify import (
    AlertChange,
    AlertObserver,
    IncidentEvent,
    IncidentObserver,
)
from .oauth_state import AuthCode, Delegation, OAuthStore, PendingAuthorization, Token
from .orchestrations import KeyFactory, Orchestration, OrchestrationStore
from .ratelimit import SlidingWindowLimiter
from .urgency import DEFAULT_RULE

if TYPE_CHECKING:
    from .delivery import Delivery
    from .incident_model import Incident
    from .schedules import Schedule

log = logging.getLogger(__name__)

Region = Literal["us", "eu"]
EVENTS_INTEGRATION_TYPES = frozenset(
    {"events_api_v2_inbound_integration", "generic_events_api_inbound_integration"}
)


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
    deleted_at: datetime | None = None  # kept for its incidents; listed and found no more
    # Its `incident_urgency_rule` and `support_hours` as served (`urgency.py`).
    urgency_rule: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_RULE))
    support_hours: dict[str, Any] | None = None


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


class Store(AlertingStore, OAuthStore, OrchestrationStore):
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
            self.orchestrations: dict[str, Orchestration] = {}
            self.orchestration_keys = KeyFactory("pagerduty-sandbox-orchestrations")
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
                (
                    s
                    for s in self.services.values()
                    if s.account_id == account_id and s.deleted_at is None
                ),
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

    def delete_service(self, service: Service) -> None:
        """REST `DELETE /services/{id}`: the service is no longer listed or found, and its
        integrations' keys stop working (no new incidents); its incidents keep a name."""
        with self.lock:
            for integration_id in list(service.integration_ids):
                self.remove_integration(integration_id)
            service.deleted_at = utcnow()

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

    def log_request(self, entry: RequestLogEntry) -> None:
        with self.lock:
            self.request_log.append(entry)
