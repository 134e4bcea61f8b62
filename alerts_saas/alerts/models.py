"""Alert definitions: what to page about, how it reads in PagerDuty, and whom it pages."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

from alerts_saas.accounts.models import Organization
from integrations.pagerduty.models import PagerDutyService

DEFAULT_SUMMARY = "{alert}: {count} matching events in {window} ({org})"


class Severity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    ERROR = "error", "Error"
    WARNING = "warning", "Warning"
    INFO = "info", "Info"


class Alert(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE,
                                     related_name="alerts")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices,
                                default=Severity.ERROR)
    summary_template = models.CharField(
        max_length=1024, default=DEFAULT_SUMMARY,
        help_text="Placeholders: {alert}, {count}, {threshold}, {window}, {org}.",
    )
    source = models.CharField(
        max_length=255, default="tripwire",
        help_text="Where the problem is, e.g. a host or service name (PagerDuty's source).",
    )
    component = models.CharField(max_length=255, blank=True)
    group = models.CharField(max_length=255, blank=True)
    event_class = models.CharField("class", max_length=255, blank=True)
    threshold = models.PositiveIntegerField(
        default=1, validators=[MinValueValidator(1)],
        help_text="How many matching events within the window make the alert fire.",
    )
    window_minutes = models.PositiveIntegerField(
        "window (minutes)", default=5,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 60)],
    )
    targets = models.ManyToManyField(PagerDutyService, related_name="alerts", blank=True,
                                     verbose_name="PagerDuty services")
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="alert_name_per_org")
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("alerts:detail", kwargs={"slug": self.organization.slug,
                                                "alert_id": self.pk})

    @property
    def window_label(self) -> str:
        return window_label(self.window_minutes)


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
