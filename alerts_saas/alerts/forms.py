from __future__ import annotations

from typing import Any

from django import forms
from django.forms import BaseInlineFormSet, inlineformset_factory

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert, CustomDetail
from alerts_saas.alerts.payload import AlertDraft, template_problems
from integrations.pagerduty.models import PagerDutyService


class TargetChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: PagerDutyService) -> str:
        where = obj.account.name if obj.account_id else "integration key"
        return f"{obj.name} ({where})"


class AlertForm(forms.ModelForm):
    targets = TargetChoice(
        queryset=PagerDutyService.objects.none(), required=True,
        widget=forms.CheckboxSelectMultiple, label="PagerDuty services",
        error_messages={"required": "Choose at least one PagerDuty service to page."},
    )

    class Meta:
        model = Alert
        fields = ["name", "description", "severity", "summary_template", "source",
                  "component", "group", "event_class", "threshold", "window_minutes",
                  "targets"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.fields["targets"].queryset = (
            PagerDutyService.objects.filter(organization=organization)
            .select_related("account").order_by("name")
        )

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        clash = Alert.objects.filter(organization=self.organization, name__iexact=name)
        if clash.exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(f"An alert named “{name}” already exists.")
        return name

    def clean_summary_template(self) -> str:
        template: str = self.cleaned_data["summary_template"]
        problems = template_problems(template)
        if problems:
            raise forms.ValidationError(problems)
        return template

    def save(self, commit: bool = True) -> Alert:
        self.instance.organization = self.organization
        return super().save(commit)


class BaseDetailFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        # Said next to the field, before the formset's generic "duplicate data" check.
        seen: set[str] = set()
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or form.cleaned_data.get("DELETE"):
                continue
            key = (form.cleaned_data.get("key") or "").strip()
            if not key:
                continue
            if key in seen:
                form.add_error("key", f"“{key}” is used twice. Each detail needs its own key.")
            seen.add(key)
        super().clean()

    def pairs(self) -> dict[str, str]:
        """The key/value pairs as they stand in the form (valid forms only)."""
        return {
            f.cleaned_data["key"].strip(): f.cleaned_data.get("value", "")
            for f in self.forms
            if getattr(f, "cleaned_data", None) and f.cleaned_data.get("key")
            and not f.cleaned_data.get("DELETE")
        }


class DetailForm(forms.ModelForm):
    class Meta:
        model = CustomDetail
        fields = ["key", "value"]
        widgets = {
            "key": forms.TextInput(attrs={"placeholder": "runbook"}),
            "value": forms.TextInput(attrs={"placeholder": "https://wiki.example.com/runbooks/db"}),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("value") and not data.get("key"):
            self.add_error("key", "Give this value a key.")
        return data


DetailFormSet = inlineformset_factory(
    Alert, CustomDetail, form=DetailForm, formset=BaseDetailFormSet, extra=2,
    can_delete=True, max_num=50, validate_max=True,
)


def draft_from(form: AlertForm, details: BaseDetailFormSet) -> AlertDraft:
    data = form.cleaned_data
    return AlertDraft(
        name=data["name"], severity=data["severity"],
        summary_template=data["summary_template"], source=data["source"],
        organization_name=form.organization.name, threshold=data["threshold"],
        window_minutes=data["window_minutes"], component=data.get("component", ""),
        group=data.get("group", ""), event_class=data.get("event_class", ""),
        details=details.pairs(),
    )
