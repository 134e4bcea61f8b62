"""Mute windows: when an alert, or every alert paging a service, pages nobody (the rules are
in `mutes.py`). Its own module, so models.py stays short; models.py imports it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from alerts_saas.accounts.models import Organization
from integrations.pagerduty.models import PagerDutyService


class MuteWindow(models.Model):
    """A time when an alert, or every alert paging a service, pages nobody: once (from
    `starts_at` to `ends_at`) or weekly (on `weekdays` from `start_time`, for
    `duration_minutes` of wall-clock time in `time_zone`). Firings still open and clear;
    their triggers wait for the window's end (`Firing.held`, alerts/mutes.py)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    alert = models.ForeignKey(
        "alerts.Alert",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="mute_windows",
    )
    service = models.ForeignKey(
        PagerDutyService,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="mute_windows",
    )
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    weekdays = models.CharField(
        max_length=7, blank=True, help_text="Days of a weekly window: 0 is Monday, 6 Sunday."
    )
    start_time = models.TimeField(null=True, blank=True)
    duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(alert__isnull=False, service__isnull=True)
                | Q(alert__isnull=True, service__isnull=False),
                name="mute_window_one_subject",
            ),
            models.CheckConstraint(
                condition=Q(
                    starts_at__isnull=False,
                    ends_at__isnull=False,
                    ends_at__gt=models.F("starts_at"),
                    weekdays="",
                )
                | Q(
                    starts_at__isnull=True,
                    ends_at__isnull=True,
                    start_time__isnull=False,
                    duration_minutes__gt=0,
                    weekdays__gt="",
                ),
                name="mute_window_once_or_weekly",
            ),
        ]
        indexes = [
            # The hot lookup: an organization's windows not over yet (weekly ones have no end).
            models.Index(fields=["organization", "ends_at"], name="alerts_mute_org_ends_idx"),
        ]

    def __str__(self) -> str:
        return self.subject_name

    @property
    def is_weekly(self) -> bool:
        return bool(self.weekdays)

    @property
    def subject_name(self) -> str:
        """What it mutes, in words (the audit log's name for it)."""
        if self.alert_id is not None:
            return f"alert “{self.alert}”"
        return f"service “{self.service}”"
