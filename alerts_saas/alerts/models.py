"""Alert definitions: what to page about, how it reads in PagerDuty, and whom it pages."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.count_models import MatchBucket as MatchBucket  # the count tables
from alerts_saas.alerts.count_models import RecentMatch as RecentMatch
from alerts_saas.alerts.count_models import SeenGroup as SeenGroup
from alerts_saas.alerts.mute_models import MuteWindow as MuteWindow  # its own module
from alerts_saas.alerts.patterns import regex_problem
from integrations.pagerduty.models import PagerDutyService

DEFAULT_SUMMARY = "{alert}: {count} matching events in {window} ({org})"
MAX_WINDOW_MINUTES = 24 * 60


class Severity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    ERROR = "error", "Error"
    WARNING = "warning", "Warning"
    INFO = "info", "Info"


class Level(models.IntegerChoices):
    """Event levels, syslog's eight, by rank: "at or above" compares ranks."""

    DEBUG = 10, "debug"
    INFO = 20, "info"
    NOTICE = 25, "notice"
    WARNING = 30, "warning"
    ERROR = 40, "error"
    CRITICAL = 50, "critical"
    ALERT = 60, "alert"
    EMERGENCY = 70, "emergency"


class ConditionKind(models.TextChoices):
    PRESENCE = "presence", "At least"
    ABSENCE = "absence", "Fewer than"


# PagerDuty's `source` when none is set; an alert that counts each source (host) on its own
# sends the host instead (`payload.render_payload`).
DEFAULT_SOURCE = "tripwire"


class GroupBy(models.TextChoices):
    """What an alert may count each value of on its own (`Alert.group_by`)."""

    NOTHING = "", "Nothing: count all matching events together"
    SOURCE = "source", "Source or host"
    APP = "app", "App"
    ATTRIBUTE = "attribute", "An attribute"


class Alert(models.Model):
    """An alert definition: which events count, how many make it fire, how it pages.

    Matching events are counted from `counting_since`, in the counter set `generation`;
    both restart when what counts changes (the match rules or the window), so old counts
    never stand for a new condition.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="alerts")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.ERROR)
    summary_template = models.CharField(
        max_length=1024,
        default=DEFAULT_SUMMARY,
        help_text="Placeholders: {alert}, {count}, {threshold}, {window}, {org}, and {group} "
        "(the host, app or value, for an alert that counts separately for each).",
    )
    source = models.CharField(
        max_length=255,
        default=DEFAULT_SOURCE,
        help_text="Where the problem is, e.g. a host or service name (PagerDuty's source).",
    )
    component = models.CharField(max_length=255, blank=True)
    group = models.CharField(max_length=255, blank=True)
    event_class = models.CharField("class", max_length=255, blank=True)
    kind = models.CharField(
        "fire when", max_length=10, choices=ConditionKind.choices, default=ConditionKind.PRESENCE
    )
    match_app = models.CharField("app is", max_length=200, blank=True)
    match_source = models.CharField("source or host is", max_length=255, blank=True)
    match_level = models.PositiveSmallIntegerField(
        "level at or above", choices=Level.choices, null=True, blank=True
    )
    match_message = models.CharField("message", max_length=500, blank=True)
    match_message_regex = models.BooleanField("message is a regular expression", default=False)
    match_attribute = models.CharField("attribute", max_length=100, blank=True)
    match_attribute_value = models.CharField("equals", max_length=500, blank=True)
    threshold = models.PositiveIntegerField(
        default=1,
        validators=[MinValueValidator(1)],
        help_text="How many matching events within the window make the alert fire.",
    )
    window_minutes = models.PositiveIntegerField(
        "window (minutes)",
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_WINDOW_MINUTES)],
    )
    group_by = models.CharField(
        "count separately for each",
        max_length=10,
        choices=GroupBy.choices,
        blank=True,
        default=GroupBy.NOTHING,
    )
    group_attribute = models.CharField(
        "attribute name",
        max_length=100,
        blank=True,
        help_text="With “an attribute”: its name, e.g. host or region.",
    )
    severity_from_events = models.BooleanField(
        "severity follows the events",
        default=False,
        help_text="Page with the highest level among the window's matching events.",
    )
    auto_resolve = models.BooleanField(
        "resolve when the condition clears",
        default=True,
        help_text="Off: the incident stays open until a person resolves it.",
    )
    resolve_quiet_values = models.BooleanField(
        "resolve a value gone quiet by itself",
        default=False,
        help_text="An absence alert counted per value (hosts that come and go): a value "
        "that sends nothing for ALERT_GROUP_FORGET_WINDOWS windows is forgotten and its "
        "firing resolves. Off: it stays firing until it sends again or a person stops "
        "watching it.",
    )
    targets = models.ManyToManyField(
        PagerDutyService, related_name="alerts", blank=True, verbose_name="PagerDuty services"
    )
    enabled = models.BooleanField(default=True)
    generation = models.PositiveIntegerField(default=1, editable=False)
    counting_since = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="alert_name_per_org")
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save; counting restarts (`counting_restarted` says so) when what counts changed
        or the alert is enabled again, since nothing was counted while it was disabled.
        Here, so that every way of saving an alert keeps old counts from a new condition."""
        loaded = getattr(self, "_as_loaded", None)
        now = self._counting_state()
        self.counting_restarted = loaded is not None and (
            loaded[:-1] != now[:-1] or (self.enabled and not loaded[-1])
        )
        if self.counting_restarted:
            self.restart_counting()
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "generation", "counting_since"}
        super().save(*args, **kwargs)
        self._as_loaded = self._counting_state()

    def get_absolute_url(self) -> str:
        return reverse(
            "alerts:detail", kwargs={"slug": self.organization.slug, "alert_id": self.pk}
        )

    @property
    def window_label(self) -> str:
        return window_label(self.window_minutes)

    @property
    def is_absence(self) -> bool:
        return self.kind == ConditionKind.ABSENCE

    @property
    def condition_label(self) -> str:
        """The firing rule in words, e.g. "at least 10 matching events in 5 minutes"."""
        plural = "s" if self.threshold != 1 else ""
        return (
            f"{self.get_kind_display().lower()} {self.threshold} matching event{plural} "
            f"in {self.window_label}"
        )

    @property
    def full_window_at(self) -> datetime:
        """When the alert will have counted for one whole window: before then an absence
        alert can't tell "fewer than N" from "not counted yet"."""
        return self.counting_since + timedelta(minutes=self.window_minutes)

    def clean(self) -> None:
        if self.match_message_regex and self.match_message:
            problem = regex_problem(self.match_message)
            if problem:
                raise ValidationError({"match_message": problem})

    def restart_counting(self) -> None:
        """Start counting afresh (unsaved): the old counts stand for another condition."""
        self.generation += 1
        self.counting_since = timezone.now()

    @classmethod
    def from_db(
        cls,
        db: str | None,
        field_names: Collection[str],
        values: Collection[Any],
        **options: Any,  # fetch_mode, from Django 6
    ) -> Alert:
        alert = super().from_db(db, field_names, values, **options)
        if set(COUNTED_FIELDS) | {"enabled"} <= set(field_names):
            alert._as_loaded = alert._counting_state()
        return alert

    def _counting_state(self) -> tuple[object, ...]:
        """What counts, and whether it is counted at all."""
        return (*(getattr(self, name) for name in COUNTED_FIELDS), self.enabled)


# The rules an event must meet to count.
MATCH_FIELDS = (
    "match_app",
    "match_source",
    "match_level",
    "match_message",
    "match_message_regex",
    "match_attribute",
    "match_attribute_value",
)
# What is counted: changing any of these restarts counting.
COUNTED_FIELDS = (*MATCH_FIELDS, "window_minutes", "group_by", "group_attribute")
"""Fields that change which events count: editing one restarts counting."""


def window_label(minutes: int) -> str:
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


class CustomDetail(models.Model):
    """One key/value pair sent in the event's custom_details."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="details")
    key = models.CharField(max_length=100)
    value = models.CharField(max_length=2000)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["alert", "key"], name="detail_key_per_alert")
        ]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class Firing(models.Model):
    """One stretch of time an alert's condition held: it opens with triggers to every
    target, and clears with resolves under the same dedup keys.

    At most one firing per alert and group is open; the database enforces it, so two
    processes that see the threshold crossed at once open one firing between them.
    """

    class ClearReason(models.TextChoices):
        CLEARED = "cleared", "Condition cleared"
        DISABLED = "disabled", "Alert disabled"
        EDITED = "edited", "Condition edited"
        DELETED = "deleted", "Alert deleted"
        RESOLVED = "resolved", "Resolved in Tripwire"
        INCIDENT_RESOLVED = "incident", "Resolved in PagerDuty"
        FORGOTTEN = "forgotten", "No longer seen"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="firings")
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="firings")
    opened_at = models.DateTimeField(default=timezone.now)
    group = models.CharField(
        max_length=255,
        blank=True,
        default="",
        help_text="The value this firing counts, for an alert that groups (e.g. a host).",
    )
    count_at_open = models.PositiveIntegerField(
        help_text="Matching events in the window when it opened."
    )
    severity = models.CharField(
        max_length=10, choices=Severity.choices, blank=True, help_text="The severity paged."
    )
    held = models.BooleanField(
        default=False, help_text="Opened in a mute window: recorded, not paged yet."
    )
    condition_cleared_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="For an alert that does not resolve by itself: when its condition cleared.",
    )
    cleared_at = models.DateTimeField(null=True, blank=True)
    clear_reason = models.CharField(max_length=10, choices=ClearReason.choices, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who resolved it in Tripwire.",
    )
    # Resolved in Tripwire by an API token (the API's Resolve, Stop watching): a token is no
    # person, so `cleared_by` stays empty and this says which token, as its resolves'
    # `Delivery.created_by_token` does. By name: no import of the ingest app.
    cleared_by_token = models.ForeignKey(
        "ingest.ApiToken",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        help_text="The API token that resolved it in Tripwire, if a token did.",
    )
    count_at_clear = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "group"],
                condition=Q(cleared_at__isnull=True),
                name="one_open_firing_per_alert_group",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "-opened_at"]),
            # Retention prunes the oldest cleared firings (alerts/retention.py).
            models.Index(
                fields=["cleared_at"],
                condition=Q(cleared_at__isnull=False),
                name="alerts_firing_cleared_at_idx",
            ),
            # A deleted token's SET NULL finds its firings without reading them all.
            models.Index(
                fields=["cleared_by_token"],
                name="alerts_firing_by_token",
                condition=Q(cleared_by_token__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        group = f" ({self.group})" if self.group else ""
        return f"{self.alert}{group} firing #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None

    def dedup_key(self, service_id: int) -> str:
        """One key per alert, target and firing: the trigger and its resolve share it."""
        return (
            f"tripwire-{self.organization_id}-alert-{self.alert_id}-firing-{self.pk}"
            f"-service-{service_id}"
        )
