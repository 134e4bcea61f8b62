"""Incidents in PagerDuty that our events opened, and the webhooks that tell us of them."""

from __future__ import annotations

import re
import secrets

from django.db import models
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.crypto import EncryptedTextField
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService


def new_token() -> str:
    """A subscription's token: 43 characters of URL-safe base64."""
    return secrets.token_urlsafe(32)


# What a token can be: new_token's alphabet, at most the column's length. The receiver
# answers any other path as it answers an unknown token, before asking the database (a NUL
# in the path is an error to PostgreSQL, a traceback a request).
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,64}")


class WebhookSubscription(models.Model):
    """Our webhooks v3 subscription on one connected service (filtered to that service, for
    incident events only). `token` names it in the receiver's URL; `secret` signs what
    PagerDuty sends. PagerDuty shows the secret once, when the subscription is created."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(
        PagerDutyAccount, on_delete=models.CASCADE, related_name="webhook_subscriptions"
    )
    service = models.OneToOneField(
        PagerDutyService, on_delete=models.CASCADE, related_name="webhook_subscription"
    )
    pd_subscription_id = models.CharField("PagerDuty subscription id", max_length=32)
    token = models.CharField(max_length=64, unique=True)
    secret = EncryptedTextField()
    url = models.URLField("delivery URL", max_length=500)
    active = models.BooleanField(default=True, help_text="As PagerDuty last reported it.")
    problem = models.CharField(
        max_length=500, blank=True, help_text="Why incident updates may not arrive, in words."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    last_received_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.pd_subscription_id} on {self.service_id}"


class IncidentStatus(models.TextChoices):
    TRIGGERED = "triggered", "Triggered"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class Incident(models.Model):
    """PagerDuty's incident for one of our dedup keys on one service. Written only from
    what PagerDuty said (webhooks, or its answer to our own REST call)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey(
        PagerDutyService, on_delete=models.CASCADE, related_name="incidents"
    )
    pd_incident_id = models.CharField("PagerDuty incident id", max_length=32)
    dedup_key = models.CharField(max_length=255, help_text="PagerDuty's incident_key.")
    number = models.PositiveIntegerField(null=True, blank=True)
    title = models.CharField(max_length=1024, blank=True)
    html_url = models.URLField(max_length=500, blank=True)
    urgency = models.CharField(max_length=10, blank=True)
    status = models.CharField(max_length=12, choices=IncidentStatus.choices)
    status_changed_at = models.DateTimeField(
        help_text="When PagerDuty says the status last changed: older news never overrides it."
    )
    status_changed_by = models.CharField(max_length=255, blank=True)
    acknowledged_by = models.CharField(max_length=255, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=255, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # PagerDuty names as the agent the user whose login connected the account when we act
    # through its REST API, and the service when our event resolves it: who really did it,
    # as Tripwire knows it, beside what PagerDuty said (`words.incident_words`).
    resolved_by_type = models.CharField(
        max_length=40, blank=True, help_text="PagerDuty's agent type, e.g. user_reference."
    )
    acknowledged_in_tripwire_by = models.CharField(
        max_length=255, blank=True, help_text="Who pressed Acknowledge in Tripwire."
    )
    resolved_in_tripwire_by = models.CharField(
        max_length=255, blank=True, help_text="Who resolved it from Tripwire."
    )
    resolved_for = models.CharField(
        max_length=20, blank=True, help_text="Why our event resolved it (a Delivery reason)."
    )
    assignees = models.JSONField(default=list, blank=True, help_text="Names of the assignees.")
    assigned_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "pd_incident_id"], name="incident_once_per_org"
            )
        ]
        indexes = [
            models.Index(fields=["service", "dedup_key"], name="incident_by_key"),
            # The incidents of a page's deliveries, by their dedup keys (`lookup.incidents_of`).
            models.Index(fields=["organization", "dedup_key"], name="incident_by_org_key"),
            models.Index(fields=["updated_at"], name="incident_by_age"),  # retention
        ]

    def __str__(self) -> str:
        return f"#{self.number or self.pd_incident_id} {self.status}"

    @property
    def is_open(self) -> bool:
        return self.status != IncidentStatus.RESOLVED

    @property
    def badge(self) -> str:
        """Its status's colour: red until someone has it, amber while they work, green after."""
        return {"resolved": "badge-ok", "acknowledged": "badge-warn"}.get(self.status, "badge-bad")


class IncidentActivity(models.Model):
    """One event about an incident: received by webhook (`event_id` set: PagerDuty's id of
    the event, from the signed body, unique per organization, so a redelivery or a replay is
    dropped), or done from Tripwire. Kept as the incident's timeline; `data` holds the
    webhook's event until it has been applied."""

    class Kind(models.TextChoices):
        TRIGGERED = "incident.triggered", "Triggered"
        ACKNOWLEDGED = "incident.acknowledged", "Acknowledged"
        UNACKNOWLEDGED = "incident.unacknowledged", "Unacknowledged"
        REASSIGNED = "incident.reassigned", "Reassigned"
        ESCALATED = "incident.escalated", "Escalated"
        DELEGATED = "incident.delegated", "Moved to another escalation policy"
        RESOLVED = "incident.resolved", "Resolved"
        REOPENED = "incident.reopened", "Reopened"
        ANNOTATED = "incident.annotated", "Note added"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, null=True, blank=True, related_name="activity"
    )
    event_id = models.CharField(
        max_length=100, blank=True, help_text="PagerDuty's event.id (a webhook's)."
    )
    kind = models.CharField(max_length=40, choices=Kind.choices)
    pd_incident_id = models.CharField(max_length=32)
    occurred_at = models.DateTimeField()
    agent = models.CharField(max_length=255, blank=True, help_text="Who did it, as named there.")
    text = models.CharField(max_length=2000, blank=True, help_text="A note, or new assignees.")
    data = models.JSONField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "event_id"],
                condition=~models.Q(event_id=""),
                name="event_once_per_org",
            )
        ]
        indexes = [
            models.Index(fields=["incident", "occurred_at"], name="activity_timeline"),
            models.Index(
                fields=["received_at"],
                name="activity_to_apply",
                condition=models.Q(applied_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.pd_incident_id}"


class OnCallNow(models.Model):
    """Who a service's escalation policy pages first, and its urgency rule, as PagerDuty last
    said. Pages read it and ask for a refresh in the background when it is older than a
    couple of minutes."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    service = models.OneToOneField(
        PagerDutyService, on_delete=models.CASCADE, related_name="on_call_now"
    )
    escalation_policy = models.CharField(max_length=255, blank=True)
    names = models.JSONField(default=list, blank=True, help_text="Level one, on call now.")
    checked_at = models.DateTimeField(null=True, blank=True)
    requested_at = models.DateTimeField(null=True, blank=True)
    problem = models.CharField(max_length=500, blank=True, help_text="Why it is unknown.")
    urgency_rule = models.JSONField(
        default=dict, blank=True, help_text="The service's incident_urgency_rule; {}: unknown."
    )

    def __str__(self) -> str:
        return ", ".join(self.names) or "nobody"


class Unsubscription(models.Model):
    """Our webhook subscriptions of one account still to delete in PagerDuty, after their
    services (or their whole organization) were removed. Written in the removal's
    transaction and deleted once PagerDuty has them gone; a worker does the deleting, with
    retries (`unsubscriptions.py`). It outlives the organization: no key to it, only its id.

    While the account is there its own tokens are used, and none are kept here (PagerDuty
    rotates the refresh token on every refresh: a copy would go stale). When the account's
    row is deleted, its current tokens are copied onto its pending rows, encrypted as on the
    account, in the deletion's transaction (`unsubscriptions.keep_tokens`).
    `next_attempt_at` is when the next try is due (one try runs at a time, holding a lock
    that dies with its worker, not a lease kept here).
    """

    account = models.ForeignKey(
        PagerDutyAccount, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    organization_ref = models.PositiveBigIntegerField(help_text="The organization's id.")
    account_ref = models.PositiveBigIntegerField(
        null=True, blank=True, db_index=True, help_text="The account's id, kept once it goes."
    )
    subdomain = models.CharField(max_length=100)
    region = models.CharField(max_length=2)
    subscription_ids = models.JSONField(default=list, help_text="Left to delete.")
    access_token = EncryptedTextField(blank=True)
    refresh_token = EncryptedTextField(blank=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{', '.join(self.subscription_ids)} in {self.subdomain}"
