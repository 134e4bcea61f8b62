"""The count store's tables, for deployments without Redis (counting_db.py): buckets,
latest events and the values an alert that groups has seen. Their own module, so
models.py stays short; models.py imports them."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class MatchBucket(models.Model):
    """Matching events per alert and time bucket, for deployments without Redis."""

    alert = models.ForeignKey("alerts.Alert", on_delete=models.CASCADE, related_name="+")
    generation = models.PositiveIntegerField()
    group = models.CharField(
        max_length=256, blank=True, default="", help_text="Empty: all events; =value: a group."
    )
    bucket = models.BigIntegerField(help_text="Bucket number: epoch seconds // bucket size.")
    count = models.PositiveIntegerField(default=0)
    top_level = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The highest level among the bucket's events."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "generation", "group", "bucket"], name="one_row_per_group_bucket"
            ),
        ]

    def __str__(self) -> str:
        return f"alert {self.alert_id} bucket {self.bucket}: {self.count}"


class RecentMatch(models.Model):
    """One of an alert's latest matching events, for deployments without Redis."""

    alert = models.ForeignKey("alerts.Alert", on_delete=models.CASCADE, related_name="+")
    generation = models.PositiveIntegerField()
    group = models.CharField(max_length=256, blank=True, default="")
    received_at = models.DateTimeField(default=timezone.now)
    event = models.JSONField(
        help_text="The event as kept (`Event.summary`: time, level, message, source, app and "
        "attributes, an array); `conditions.shown` makes the object a trigger's custom details "
        "and the alert page show."
    )

    class Meta:
        indexes = [models.Index(fields=["alert", "generation", "group", "-received_at"])]

    def __str__(self) -> str:
        return f"alert {self.alert_id} match at {self.received_at:%H:%M:%S}"


class SeenGroup(models.Model):
    """A value of an alert's group field, and when it was first and last seen, for
    deployments without Redis."""

    alert = models.ForeignKey("alerts.Alert", on_delete=models.CASCADE, related_name="+")
    generation = models.PositiveIntegerField()
    value = models.CharField(max_length=255)
    first_seen = models.FloatField(help_text="Epoch seconds.")
    last_seen = models.FloatField(help_text="Epoch seconds.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "generation", "value"], name="one_row_per_seen_group"
            ),
        ]

    def __str__(self) -> str:
        return f"alert {self.alert_id} saw {self.value}"
