"""Admin views. Secrets (tokens, integration and routing keys) are never shown here."""

from django.contrib import admin

from integrations.pagerduty.models import Delivery, PagerDutyAccount, PagerDutyService


@admin.register(PagerDutyAccount)
class PagerDutyAccountAdmin(admin.ModelAdmin):
    list_display = ["name", "subdomain", "region", "organization", "status", "expires_at"]
    list_filter = ["region", "status"]
    search_fields = ["name", "subdomain", "organization__name"]
    exclude = ["access_token", "refresh_token"]
    readonly_fields = [
        "organization",
        "pd_account_id",
        "pd_user_id",
        "expires_at",
        "scope",
        "connected_by",
        "connected_at",
        "refreshed_at",
        "token_version",
    ]


@admin.register(PagerDutyService)
class PagerDutyServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "account", "region", "masked_key"]
    list_filter = ["region"]
    search_fields = ["name", "pd_service_id", "organization__name"]
    exclude = ["integration_key"]
    readonly_fields = [
        "organization",
        "account",
        "pd_service_id",
        "html_url",
        "integration_id",
        "created_integration",
        "created_by",
        "created_at",
        "masked_key",
    ]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "organization",
        "service_name",
        "event_action",
        "status",
        "attempts",
        "latency_ms",
    ]
    list_filter = ["status", "event_action", "is_test"]
    search_fields = ["dedup_key", "service_name", "organization__name"]
    exclude = ["routing_key"]
    readonly_fields = [f.name for f in Delivery._meta.fields if f.name != "routing_key"]

    def has_add_permission(self, request: object) -> bool:
        return False
