"""What is sent to PagerDuty's Events API v2: one row per event, and what became of it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.crypto import EncryptedTextField
from integrations.pagerduty.models.accounts import PagerDutyService, Region


class EventAction(models.TextChoices):
    TRIGGER = "trigger", "Trigger"
    ACKNOWLEDGE = "acknowledge", "Acknowledge"
    RESOLVE = "resolve", "Resolve"
    # A change event (a deploy, a configuration change): PagerDuty's /v2/change/enqueue,
    # which pages nobody. Its body has no event_action (PagerDuty's shape).
    CHANGE = "change", "Change"


class Reason(models.TextChoices):
    """Why an event was sent, beside the firing's own trigger: what a resolve or an extra
    trigger answers to. The first five are the firing's clear reasons of the same code
    (`Firing.ClearReason`; one resolved in Tripwire sends `BY_HAND`)."""

    CLEARED = "cleared", "condition cleared"
    DISABLED = "disabled", "alert disabled"
    EDITED = "edited", "condition edited"
    DELETED = "deleted", "alert deleted"
    FORGOTTEN = "forgotten", "value no longer seen"
    TARGET_REMOVED = "target_removed", "service removed from the alert"
    SERVICE_DELETED = "service_deleted", "service removed from Tripwire"
    DISCONNECTED = "disconnected", "PagerDuty account disconnected"
    FALLBACK = "fallback", "fallback: the alert's own service could not be paged"
    BY_HAND = "by_hand", "resolved by hand"
    TEST_EXPIRED = "test_expired", "test incident resolved automatically"


class Delivery(models.Model):
    """One event to send to PagerDuty's Events API v2, and what became of it.

    A delivery carries its own copy of the routing key (encrypted) and region, so it can
    still be sent, and its history still read, after the service is removed.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    # The foreign keys' own indexes would repeat the composite ones below (each row is
    # updated twice on its way, once per index), so they go without.
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    service = models.ForeignKey(
        PagerDutyService,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
        db_index=False,
    )
    service_name = models.CharField(max_length=255)
    alert = models.ForeignKey(
        "alerts.Alert",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
        help_text="Empty for test events not tied to a saved alert.",
        db_index=False,
    )
    firing = models.ForeignKey(
        "alerts.Firing",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
        help_text="The firing this trigger or resolve belongs to.",
    )
    region = models.CharField(max_length=2, choices=Region.choices)
    routing_key = EncryptedTextField()
    event_action = models.CharField(max_length=12, choices=EventAction.choices)
    dedup_key = models.CharField(max_length=255)
    body = models.JSONField(help_text="The event as sent, without its routing_key.")
    is_test = models.BooleanField(default=False)
    reason = models.CharField(max_length=20, choices=Reason.choices, blank=True)
    trim_note = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    claim = models.UUIDField(
        null=True,
        blank=True,
        editable=False,
        help_text="Who holds the current attempt (compare-and-set).",
    )
    last_error = models.TextField(blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_message = models.CharField(max_length=500, blank=True)
    response_errors = models.JSONField(default=list, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    # A resolve an API token made (the API's Resolve, Stop watching): a token is no person,
    # so `created_by` stays empty and this says which token. A reference by name, as
    # "alerts.Alert" above: no import of the app.
    created_by_token = models.ForeignKey(
        "ingest.ApiToken",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        help_text="The API token that resolved the firing by hand, if a token did.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        # Partial indexes where only some rows are ever looked up: a row's update touches
        # only the indexes whose condition it meets.
        indexes = [
            models.Index(
                fields=["status", "next_attempt_at"],
                name="pagerduty_delivery_unfinished",
                condition=Q(status__in=["queued", "sending"]),
            ),
            models.Index(
                fields=["created_by"],
                name="pagerduty_delivery_by_person",
                condition=Q(created_by__isnull=False),
            ),
            models.Index(
                fields=["created_by_token"],
                name="pagerduty_delivery_by_token",
                condition=Q(created_by_token__isnull=False),
            ),
            models.Index(fields=["organization", "-created_at"]),
            # A service's history: with the organization, so the API's lists (always of
            # one organization) are answered from the index without reading the table.
            models.Index(
                fields=["service", "organization", "-created_at"],
                name="pagerduty_delivery_service",
            ),
            models.Index(fields=["alert", "-created_at"], name="pagerduty_delivery_alert"),
            models.Index(fields=["organization", "dedup_key"]),
            # "Has this organization sent a test yet?" (the getting-started checklist).
            models.Index(
                fields=["organization"],
                name="pagerduty_delivery_tests",
                condition=Q(is_test=True),
            ),
            # The dashboard's failed deliveries: an organization's latest failures.
            models.Index(
                fields=["organization", "-created_at"],
                name="pagerduty_delivery_failed",
                condition=Q(status="failed"),
            ),
            # Retention prunes final rows by age, oldest first.
            models.Index(
                fields=["created_at"],
                name="pagerduty_delivery_final_age",
                condition=Q(status__in=["delivered", "failed"]),
            ),
        ]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.event_action} {self.dedup_key} to {self.service_name} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in (self.Status.DELIVERED, self.Status.FAILED)

    @property
    def is_retrying(self) -> bool:
        """At least one attempt failed and it is not settled: queued again, or being sent
        again (`retrying` says it in SQL)."""
        return not self.is_final and self.failed_attempts > 0

    @property
    def failed_attempts(self) -> int:
        """Its attempts that failed so far: one being sent now has not."""
        return self.attempts - (self.status == self.Status.SENDING)

    @property
    def last_answer(self) -> str:
        """What went wrong the last time, in a few words: "PagerDuty answered 500", or
        the error's first clause when PagerDuty gave no answer (only the last attempt's
        is kept; the whole error is on the delivery's page)."""
        if self.response_status is not None:
            return f"PagerDuty answered {self.response_status}"
        return self.last_error.split(": ", 1)[0][:120] or "no answer"


def retrying() -> Q:
    """The deliveries with a failed attempt and not settled (`Delivery.is_retrying`):
    `attempts` counts claims (a row being sent counts its attempt in flight), so a queued
    row with one attempt, or one being sent with two, has failed once."""
    return Q(status=Delivery.Status.QUEUED, attempts__gt=0) | Q(
        status=Delivery.Status.SENDING, attempts__gt=1
    )
