from django.contrib import admin

from alerts_saas.alerts.models import Alert, CustomDetail


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
