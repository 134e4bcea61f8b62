from django.contrib import admin
from django.http import HttpRequest

from alerts_saas.audit.models import Entry


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    """The audit log, read only: an entry is never added, changed or deleted by hand."""

    list_display = ["created_at", "organization", "actor_label", "action", "object_type"]
    list_filter = ["action", "object_type", "actor_kind"]
    search_fields = ["actor_label", "object_name", "organization__name"]
    raw_id_fields = ["organization", "actor_user"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
