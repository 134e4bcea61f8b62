"""Getting started, ticked off from what the organization has really done, in the order
they can be done: PagerDuty connected (a service to page), an ingest key to send with, a
first event received, a first alert, a first test sent. And the team: members and
pending invitations. A step only an owner or admin can take (`Step.ask`) tells a member
whom to ask, by name.

One query, whatever the organization's size: each step is an EXISTS on an index (the test
alert on the partial index of test deliveries), the team two counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Exists, F, Func, OuterRef, QuerySet, Subquery
from django.urls import reverse

from alerts_saas.accounts.models import Invitation, Membership, Organization
from alerts_saas.alerts.models import Alert
from alerts_saas.ingest.models import IngestKey
from integrations.pagerduty.models import Delivery, PagerDutyService


@dataclass(frozen=True, slots=True)
class Step:
    key: str
    todo: str  # what to do, while it is not done
    done_words: str  # what was done
    help: str  # why, and how
    link_label: str
    url: str
    done: bool
    # Only an owner or admin can do it: what a member asks one of them to do (by name,
    # accounts/_ask.html), instead of a link to a button they don't have.
    ask: str = ""

    @property
    def words(self) -> str:
        return self.done_words if self.done else self.todo


@dataclass(frozen=True, slots=True)
class Checklist:
    steps: list[Step]
    members: int
    pending_invitations: int
    members_url: str
    last_event_at: datetime | None  # the last batch any key sent, to the minute

    @property
    def done(self) -> int:
        return sum(1 for step in self.steps if step.done)

    @property
    def complete(self) -> bool:
        return self.done == len(self.steps)

    def _is_done(self, key: str) -> bool:
        return any(step.done for step in self.steps if step.key == key)

    @property
    def pagerduty_connected(self) -> bool:
        """Whether a service can be paged at all: until then nothing is "working"."""
        return self._is_done("pagerduty")

    @property
    def has_alert(self) -> bool:
        return self._is_done("first-alert")


def _exists(rows: QuerySet[Any]) -> Exists:
    return Exists(rows.filter(organization=OuterRef("pk")))


def _aggregate(rows: QuerySet[Any], function: str, field: str = "pk") -> Subquery:
    """One value over the organization's rows, e.g. COUNT(pk), as a subquery."""
    over = rows.filter(organization=OuterRef("pk")).order_by()
    return Subquery(over.values(value=Func(F(field), function=function))[:1])


@dataclass(frozen=True, slots=True)
class Facts:
    """What the organization has done, read in one query."""

    has_key: bool
    has_event: bool
    last_event_at: datetime | None
    has_service: bool
    has_alert: bool
    has_test: bool
    members: int | None
    pending: int | None


def _facts(organization: Organization) -> Facts:
    keys = IngestKey.objects.all()
    row = (
        Organization.objects.filter(pk=organization.pk)
        .annotate(
            has_key=_exists(keys.filter(revoked_at__isnull=True)),
            has_event=_exists(keys.filter(last_used_at__isnull=False)),
            last_event_at=_aggregate(keys, "MAX", "last_used_at"),
            has_service=_exists(PagerDutyService.objects.all()),
            has_alert=_exists(Alert.objects.all()),
            has_test=_exists(Delivery.objects.filter(is_test=True)),
            members=_aggregate(Membership.objects.all(), "COUNT"),
            pending=_aggregate(Invitation.objects.pending(), "COUNT"),
        )
        .values(
            "has_key",
            "has_event",
            "last_event_at",
            "has_service",
            "has_alert",
            "has_test",
            "members",
            "pending",
        )
        .get()
    )
    return Facts(**row)


def checklist(organization: Organization) -> Checklist:
    slug = organization.slug
    facts = _facts(organization)
    keys_url = reverse("ingest:keys", args=[slug])
    integrations_url = reverse("pagerduty:integrations", args=[slug])
    # In the order a new organization can take them: an alert pages a PagerDuty service
    # (the form requires one), events need a key, an alert is easier to define once events
    # arrive (its page shows what arrived and matched nothing), and the test checks the
    # whole path at the end.
    steps = [
        Step(
            "pagerduty",
            "Connect PagerDuty",
            "PagerDuty connected",
            "Pick the services your alerts page.",
            "Integrations",
            integrations_url,
            facts.has_service,
            ask="connect PagerDuty",
        ),
        Step(
            "ingest-key",
            "Create an ingest key",
            "Ingest key created",
            "Your systems send events with it.",
            "Ingest keys",
            keys_url,
            facts.has_key,
            ask="create an ingest key",
        ),
        Step(
            "first-event",
            "Send your first event",
            "First event received",
            "POST a batch to /api/v1/events with your ingest key.",
            "How to send events",
            reverse("api:openapi-view"),
            facts.has_event,
        ),
        Step(
            "first-alert",
            "Define your first alert",
            "First alert defined",
            "Say which events count, how many, and whom to page.",
            "New alert",
            reverse("alerts:create", args=[slug]),
            facts.has_alert,
        ),
        Step(
            "test-alert",
            "Send a test event",
            "Test event sent",
            "Check that a page really reaches PagerDuty: “Send test event” beside a service.",
            "Integrations",
            integrations_url + "#integrations",
            facts.has_test,
        ),
    ]
    return Checklist(
        steps,
        facts.members or 0,
        facts.pending or 0,
        reverse("accounts:members", args=[slug]),
        facts.last_event_at,
    )
