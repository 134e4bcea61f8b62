from django.contrib import admin

from alerts_saas.notices.models import PagingProblem, QueuedCheck


@admin.register(PagingProblem)
class PagingProblemAdmin(admin.ModelAdmin):
    list_display = ["title", "organization", "kind", "opened_at", "resolved_at", "reminders_sent"]
    list_filter = ["kind"]
    search_fields = ["title", "organization__name", "key"]
    raw_id_fields = ["organization"]
    readonly_fields = [
        "opened_at",
        "notified_at",
        "last_notified_at",
        "reminders_sent",
        "resolved_at",
        "all_clear_sent_at",
    ]


@admin.register(QueuedCheck)
class QueuedCheckAdmin(admin.ModelAdmin):
    """Marks of queued paging checks (without Redis); deleting one lets the next change
    queue a check at once."""

    list_display = ["organization", "queued_at"]
    raw_id_fields = ["organization"]
    readonly_fields = ["queued_at"]
