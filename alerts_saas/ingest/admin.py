from django.contrib import admin

from alerts_saas.ingest.models import IngestKey


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
