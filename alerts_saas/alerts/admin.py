from django.contrib import admin

from alerts_saas.alerts.models import Alert, CustomDetail, Firing, MatchBucket, RecentMatch


class CustomDetailInline(admin.TabularInline):
    model = CustomDetail
    extra = 0


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "severity", "threshold", "window_minutes",
                    "enabled"]
    list_filter = ["severity", "enabled"]
    search_fields = ["name", "organization__name"]
    filter_horizontal = ["targets"]
    inlines = [CustomDetailInline]


@admin.register(Firing)
class FiringAdmin(admin.ModelAdmin):
    list_display = ["alert", "organization", "opened_at", "cleared_at", "clear_reason",
                    "count_at_open"]
    list_filter = ["clear_reason"]
    search_fields = ["alert__name", "organization__name"]
    raw_id_fields = ["alert", "organization"]


@admin.register(MatchBucket)
class MatchBucketAdmin(admin.ModelAdmin):
    list_display = ["alert", "generation", "bucket", "count"]
    raw_id_fields = ["alert"]


@admin.register(RecentMatch)
class RecentMatchAdmin(admin.ModelAdmin):
    list_display = ["alert", "generation", "received_at"]
    raw_id_fields = ["alert"]
