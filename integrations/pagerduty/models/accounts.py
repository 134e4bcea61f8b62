"""Connected PagerDuty accounts and the services our alerts can page."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac

from alerts_saas.accounts.models import Organization
from alerts_saas.crypto import EncryptedTextField, mask
from integrations.pagerduty.keys import KeyKind, kind_of


class Region(models.TextChoices):
    US = "us", "United States"
    EU = "eu", "European Union"


class PagerDutyAccount(models.Model):
    """One OAuth connection from an organization to one PagerDuty account."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Connected"
        NEEDS_RECONNECT = "needs_reconnect", "Needs reconnect"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="pagerduty_accounts"
    )
    pd_account_id = models.CharField("PagerDuty account id", max_length=32)
    subdomain = models.CharField(max_length=100)
    name = models.CharField(max_length=200)
    region = models.CharField(max_length=2, choices=Region.choices)
    pd_user_id = models.CharField("authorizing PagerDuty user", max_length=32, blank=True)
    access_token = EncryptedTextField()
    refresh_token = EncryptedTextField()
    expires_at = models.DateTimeField()
    scope = models.CharField(max_length=500)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    status_detail = models.CharField(max_length=500, blank=True)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    connected_at = models.DateTimeField(auto_now_add=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    # What PagerDuty last said of our access, shown as it is known (`confirmed`): never
    # more than these, and nothing asked of PagerDuty to show it.
    granted_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When PagerDuty last granted access (connect or reconnect).",
    )
    refused_at = models.DateTimeField(
        null=True, blank=True, help_text="When PagerDuty refused to refresh access."
    )
    access_checked_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When beat's access check last found the token working (`access_check`).",
    )
    access_failed_at = models.DateTimeField(
        null=True, blank=True, help_text="When a check of access last could not reach PagerDuty."
    )
    access_failure = models.CharField(
        max_length=200, blank=True, help_text="What it met, in words."
    )
    connected_by_left_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the person who connected it left the organization: acting from "
        "Tripwire acts as them in PagerDuty until an admin reconnects it (`departures`).",
    )
    # Bumped on every token change: refreshes compare-and-set on it instead of locking.
    token_version = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "pd_account_id"], name="one_connection_per_pd_account"
            )
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.subdomain}, {self.get_region_display()})"

    @property
    def needs_reconnect(self) -> bool:
        return self.status == self.Status.NEEDS_RECONNECT

    @property
    def confirmed(self) -> tuple[datetime | None, str]:
        """When PagerDuty last confirmed our access, and how: a grant (connect or
        reconnect), a refresh, or beat's access check (a read that worked). Nothing later
        is known without asking PagerDuty."""
        moments = [
            (self.access_checked_at, "access checked"),
            (self.refreshed_at, "token refreshed"),
            (self.granted_at, "connected"),
        ]
        known = [(when, how) for when, how in moments if when is not None]
        if known:
            return max(known, key=lambda moment: moment[0])  # the first of equal ones
        return self.connected_at, "connected"

    def expires_soon(self, margin: timedelta | None = None) -> bool:
        margin = settings.PAGERDUTY_REFRESH_MARGIN if margin is None else margin
        return self.expires_at <= timezone.now() + margin


def integration_key_digest(integration_key: str) -> str:
    """An integration key's HMAC (keyed by SECRET_KEY): equal keys have equal digests, and
    the digest alone does not give the key away. After SECRET_KEY changes, old rows no longer
    match until they are saved again."""
    if not integration_key:
        return ""
    return salted_hmac("pagerduty.integration_key", integration_key, algorithm="sha256").hexdigest()


class PagerDutyService(models.Model):
    """A PagerDuty service alerts can target, through an Events API v2 integration key.

    Connected through OAuth (`account` set, `pd_service_id` known) or by a pasted key
    (`account` empty).
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="pagerduty_services"
    )
    account = models.ForeignKey(
        PagerDutyAccount,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="services",
    )
    region = models.CharField(max_length=2, choices=Region.choices, default=Region.US)
    pd_service_id = models.CharField("PagerDuty service id", max_length=32, blank=True)
    name = models.CharField(max_length=255)
    html_url = models.URLField(max_length=500, blank=True)
    integration_id = models.CharField(max_length=32, blank=True)
    integration_key = EncryptedTextField()
    key_digest = models.CharField(
        max_length=64,
        blank=True,
        editable=False,
        help_text="A keyed hash of the integration key (integration_key_digest()), to find a key "
        "already added without decrypting every row.",
    )
    created_integration = models.BooleanField(
        default=False,
        help_text="We created the integration on PagerDuty (it bears our name there); "
        "PagerDuty's API can't remove it, so removing the service here says where to.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    is_fallback = models.BooleanField(
        "fallback service",
        default=False,
        help_text="Also paged when an alert's own service can't be: refused by PagerDuty, "
        "or its account needs reconnecting.",
    )
    # What the last deliveries to it said about the path, until a delivery succeeds again
    # (health.py). Set and cleared by the engine as outcomes are written.
    refused_at = models.DateTimeField(
        null=True, blank=True, help_text="When PagerDuty first refused its key (400)."
    )
    refused_detail = models.CharField(max_length=500, blank=True)
    failing_since = models.DateTimeField(
        null=True, blank=True, help_text="When a delivery to it first failed for good."
    )
    failing_detail = models.CharField(max_length=500, blank=True)
    # PagerDuty refused its key before it ever took an event for it (a typo, say).
    refused_first = models.BooleanField(default=False)
    # A person changed its path (a pasted key's region): not refused, not confirmed either,
    # until PagerDuty takes an event there or refuses it (`paths.service_health`).
    unconfirmed_at = models.DateTimeField(null=True, blank=True)
    unconfirmed_why = models.CharField(max_length=300, blank=True, help_text="Who changed what.")
    # The region PagerDuty refused its key in before a person switched it away from there
    # ("": none): refused again in the new region, the key itself is wrong (path_words).
    refused_region = models.CharField(max_length=2, choices=Region.choices, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "pd_service_id"],
                condition=models.Q(account__isnull=False),
                name="one_row_per_connected_service",
            ),
            models.UniqueConstraint(
                fields=["organization"],
                condition=models.Q(is_fallback=True),
                name="one_fallback_service_per_org",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "key_digest"], name="pd_service_key_digest")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save, keeping `key_digest` in step with the key however the row is written."""
        self.key_digest = integration_key_digest(self.integration_key)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "integration_key" in update_fields:
            kwargs["update_fields"] = {*update_fields, "key_digest"}
        super().save(*args, **kwargs)

    @property
    def masked_key(self) -> str:
        return mask(self.integration_key)

    @property
    def is_pasted(self) -> bool:
        return self.account_id is None

    @property
    def key_kind(self) -> KeyKind:
        """Told from the key's shape (`keys.kind_of`), so no column to keep in step."""
        return kind_of(self.integration_key)

    @property
    def is_orchestration(self) -> bool:
        return self.key_kind is KeyKind.ORCHESTRATION
