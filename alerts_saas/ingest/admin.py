from django.contrib import admin

from alerts_saas.ingest.models import ApiToken, ChangeEvent, IngestKey, IngestMinute


@admin.register(IngestKey)
class IngestKeyAdmin(admin.ModelAdmin):
    """Keys are listed, never shown: only a hash and a hint of each is stored."""

    list_display = ["name", "organization", "hint", "created_at", "last_used_at", "revoked_at"]
    search_fields = ["name", "organization__name", "hint"]
    readonly_fields = [
        "hint",
        "key_hash",
        "created_at",
        "last_used_at",
        "revoked_at",
        "revoked_by",
        "created_by",
    ]
    raw_id_fields = ["organization"]


@admin.register(ApiToken)
class ApiTokenAdmin(IngestKeyAdmin):
    """Tokens too: a hash and a hint, never the secret."""

    list_display = [*IngestKeyAdmin.list_display[:3], "scope", *IngestKeyAdmin.list_display[3:]]


@admin.register(IngestMinute)
class IngestMinuteAdmin(admin.ModelAdmin):
    """Events per organization and minute, kept an hour where there is no Redis."""

    list_display = ["organization", "minute", "events", "last_at"]
    raw_id_fields = ["organization"]


@admin.register(ChangeEvent)
class ChangeEventAdmin(admin.ModelAdmin):
    """Deploys and config changes sent to the organization's services, read only."""

    list_display = ["timestamp", "organization", "summary", "source"]
    search_fields = ["summary", "source", "organization__name"]
    raw_id_fields = ["organization"]

    def get_readonly_fields(self, request: object, obj: object = None) -> list[str]:
        return [f.name for f in ChangeEvent._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False
