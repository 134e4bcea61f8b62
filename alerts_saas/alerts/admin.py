from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from alerts_saas.alerts import evaluation
from alerts_saas.alerts.models import (
    MATCH_FIELDS,
    Alert,
    CustomDetail,
    Firing,
    MatchBucket,
    MuteWindow,
    RecentMatch,
    SeenGroup,
)


class AlertAdminForm(forms.ModelForm):
    """Staff edits keep the product form's rule that targets are the alert's own
    organization's (the model's `clean` refuses an expression RE2 can't run)."""

    class Meta:
        model = Alert
        fields = [
            "organization",
            "name",
            "description",
            "severity",
            "summary_template",
            "source",
            "component",
            "group",
            "event_class",
            "kind",
            *MATCH_FIELDS,
            "threshold",
            "window_minutes",
            "enabled",
            "created_by",
            "targets",
        ]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        organization = data.get("organization")
        targets = data.get("targets")
        if (
            organization is not None
            and targets is not None
            and any(service.organization_id != organization.pk for service in targets)
        ):
            self.add_error("targets", "Choose services of the alert's own organization.")
        return data


class CustomDetailInline(admin.TabularInline):
    model = CustomDetail
    extra = 0


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    """Saving and deleting go the product's way: re-evaluated at once, resolved first."""

    form = AlertAdminForm
    list_display = ["name", "organization", "severity", "threshold", "window_minutes", "enabled"]
    list_filter = ["severity", "enabled"]
    search_fields = ["name", "organization__name"]
    filter_horizontal = ["targets"]
    inlines = [CustomDetailInline]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)  # targets are saved here
        alert = form.instance
        if not evaluation.reevaluate(alert, alert.counting_restarted):
            self.message_user(request, evaluation.UNCHECKED, messages.WARNING)

    def delete_model(self, request: HttpRequest, obj: Alert) -> None:
        evaluation.delete(obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        for alert in queryset.select_for_update():
            evaluation.delete(alert)


@admin.register(Firing)
class FiringAdmin(admin.ModelAdmin):
    list_display = [
        "alert",
        "organization",
        "opened_at",
        "cleared_at",
        "clear_reason",
        "count_at_open",
    ]
    list_filter = ["clear_reason"]
    search_fields = ["alert__name", "organization__name"]
    raw_id_fields = ["alert", "organization"]


@admin.register(MatchBucket)
class MatchBucketAdmin(admin.ModelAdmin):
    list_display = ["alert", "generation", "group", "bucket", "count", "top_level"]
    raw_id_fields = ["alert"]


@admin.register(RecentMatch)
class RecentMatchAdmin(admin.ModelAdmin):
    list_display = ["alert", "generation", "group", "received_at"]
    raw_id_fields = ["alert"]


@admin.register(SeenGroup)
class SeenGroupAdmin(admin.ModelAdmin):
    list_display = ["alert", "generation", "value", "first_seen", "last_seen"]
    raw_id_fields = ["alert"]


@admin.register(MuteWindow)
class MuteWindowAdmin(admin.ModelAdmin):
    list_display = ["__str__", "organization", "starts_at", "ends_at", "weekdays", "reason"]
    raw_id_fields = ["organization", "alert", "service", "created_by"]
