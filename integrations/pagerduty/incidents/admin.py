"""Admin views, read-only: what PagerDuty told us. A subscription's secret and an
unsubscription's tokens are never shown."""

from django.contrib import admin
from django.db import models

from integrations.pagerduty.incidents.models import (
    Incident,
    IncidentActivity,
    OnCallNow,
    Unsubscription,
    WebhookSubscription,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    secret_fields: tuple[str, ...] = ()

    def get_exclude(self, request: object, obj: models.Model | None = None) -> list[str]:
        return list(self.secret_fields)

    def get_readonly_fields(self, request: object, obj: models.Model | None = None) -> list[str]:
        return [f.name for f in self.model._meta.fields if f.name not in self.secret_fields]

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(ReadOnlyAdmin):
    secret_fields = ("secret",)
    list_display = ["service", "organization", "pd_subscription_id", "active", "problem"]
    list_filter = ["active"]


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    list_display = ["number", "title", "organization", "service", "status", "status_changed_at"]
    list_filter = ["status"]
    search_fields = ["pd_incident_id", "dedup_key", "title"]


@admin.register(IncidentActivity)
class IncidentActivityAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "organization", "kind", "pd_incident_id", "agent"]
    list_filter = ["kind"]


@admin.register(OnCallNow)
class OnCallNowAdmin(ReadOnlyAdmin):
    list_display = ["service", "organization", "escalation_policy", "checked_at", "problem"]


@admin.register(Unsubscription)
class UnsubscriptionAdmin(ReadOnlyAdmin):
    secret_fields = ("access_token", "refresh_token")
    list_display = ["subdomain", "organization_ref", "attempts", "next_attempt_at", "last_error"]
