from typing import Any

from django import forms
from django.contrib import admin

from alerts_saas.alerts.conditions import regex_problem
from alerts_saas.alerts.models import Alert, CustomDetail, Firing, MatchBucket, RecentMatch


class AlertAdminForm(forms.ModelForm):
    """Staff edits keep the rules the product's own form keeps: targets from the alert's own
    organization, and only expressions RE2 can run (one it can't would refuse every batch)."""

    class Meta:
        model = Alert
        fields = ["organization", "name", "description", "severity", "summary_template",
                  "source", "component", "group", "event_class", "kind", "match_app",
                  "match_source", "match_level", "match_message", "match_message_regex",
                  "match_attribute", "match_attribute_value", "threshold", "window_minutes",
                  "enabled", "created_by", "targets"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        organization = data.get("organization")
        targets = data.get("targets")
        if organization is not None and targets is not None and any(
                service.organization_id != organization.pk for service in targets):
            self.add_error("targets", "Choose services of the alert's own organization.")
        if data.get("match_message_regex"):
            problem = regex_problem(data.get("match_message") or "")
            if problem:
                self.add_error("match_message", problem)
        return data


class CustomDetailInline(admin.TabularInline):
    model = CustomDetail
    extra = 0


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    form = AlertAdminForm
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
