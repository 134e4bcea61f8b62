from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.forms import BaseInlineFormSet, inlineformset_factory
from django.utils.html import format_html

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import (
    DEFAULT_SOURCE,
    MATCH_FIELDS,
    MAX_WINDOW_MINUTES,
    Alert,
    ConditionKind,
    CustomDetail,
    GroupBy,
    Level,
    window_label,
)
from alerts_saas.alerts.payload import template_problems
from alerts_saas.alerts.target_words import phrase
from alerts_saas.ids import as_id
from integrations.pagerduty.models import PagerDutyService
from integrations.pagerduty.paths import service_health


class TargetChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: PagerDutyService) -> str:
        """The service, its account, and what is wrong with its path if anything is
        ("PagerDuty refuses its key"), from the service and account already read."""
        account = obj.account
        where = account.name if account is not None else "integration key"
        path = service_health(obj)
        trouble = phrase(path)
        if not trouble:
            return f"{obj.name} ({where})"
        badge = "badge-warn" if path.can_page else "badge-bad"
        return format_html(
            '{} ({}) <span class="badge {} target-trouble">{}</span>',
            obj.name,
            where,
            badge,
            trouble,
        )


WINDOW_UNITS = {"minutes": 1, "hours": 60}
NO_SERVICE_HELP = (
    "It pages nobody now: it has no PagerDuty service. Its other changes save without one; "
    "choose one to page it again."
)
MAX_DESCRIPTION = 2000
MAX_THRESHOLD = 2**31 - 1  # the column's range


class AlertForm(forms.ModelForm):
    """The alert definition. The window is typed as a number and a unit (minutes or hours)
    and stored in minutes: the `window_minutes` input holds the number in that unit."""

    description = forms.CharField(
        label="Description",
        required=False,
        max_length=MAX_DESCRIPTION,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Shown on the alert's page, for whoever is on call. A web address in it "
        "(a runbook, say) is a link there, and goes with the alert's pages to PagerDuty.",
        error_messages={
            "max_length": "A description is read on the alert's page: keep it to "
            "%(limit_value)s characters or fewer (it has %(show_value)s)."
        },
    )

    targets = TargetChoice(
        queryset=PagerDutyService.objects.none(),
        required=True,
        widget=forms.CheckboxSelectMultiple,
        label="PagerDuty services",
        error_messages={"required": "Choose at least one PagerDuty service to page."},
    )
    window_unit = forms.ChoiceField(
        label="Window unit",
        required=False,
        initial="minutes",
        choices=[("minutes", "minutes"), ("hours", "hours")],
    )

    class Meta:
        model = Alert
        fields = [
            "name",
            "description",
            "severity",
            "kind",
            "threshold",
            "window_minutes",
            *MATCH_FIELDS,
            "summary_template",
            "source",
            "component",
            "group",
            "event_class",
            "targets",
            "auto_resolve",
            "group_by",
            "group_attribute",
            "resolve_quiet_values",
            "severity_from_events",
        ]
        labels = {
            "kind": "Fire when",
            "threshold": "Number of events",
            "window_minutes": "Window",
            "match_app": "App is",
            "match_source": "Source or host is",
            "match_level": "Level at or above",
            "match_message": "Message contains",
            "match_message_regex": "Regular expression",
            "match_attribute": "Attribute",
            "match_attribute_value": "Equals",
            "auto_resolve": "Resolve when the condition clears",
            "group_by": "Count separately for each",
            "group_attribute": "Attribute name",
            "resolve_quiet_values": "Resolve a quiet value by itself (hosts that come and go)",
            "severity_from_events": "Severity follows the events",
        }
        help_texts = {
            "threshold": "",
            "group_by": "One firing, and one PagerDuty incident, per host, app or attribute "
            "value: e.g. “fewer than 1 heartbeat in 5 minutes” for each host says which host "
            "went quiet.",
            "group_attribute": "With “An attribute”: its name, e.g. host or region.",
            "source": "Where the problem is, e.g. a host or service name (PagerDuty's "
            "source). Counting each source or host on its own, the host is sent unless you "
            f"set one here (anything but “{DEFAULT_SOURCE}”).",
            "resolve_quiet_values": "Off: a host that goes quiet stays firing until it sends "
            "again, or until you stop watching it on the alert's page. On: its firing "
            "resolves once it has sent nothing for "
            f"{settings.ALERT_GROUP_FORGET_WINDOWS} windows, for fleets whose hosts are "
            "replaced.",
            "severity_from_events": "Page as critical, error, warning or info after the highest "
            "level among the window's matching events, instead of the severity above.",
            "match_app": "The event's app, exactly as sent.",
            "match_source": "The event's source (or host), exactly as sent.",
            "match_message": "Text found anywhere in the message, ignoring case. As a regular "
            "expression (RE2) it is case-sensitive: start it with (?i) to "
            "ignore case.",
            "match_attribute": "An attribute's name, e.g. region or status.",
            "match_attribute_value": "Compared as text, e.g. eu-west-1, 503 or true.",
            "auto_resolve": "Off: when the condition clears, the incident stays open in "
            "PagerDuty until someone resolves it there or on the alert's page.",
        }
        error_messages = {
            name: {
                "max_length": "Keep it to %(limit_value)d characters or fewer "
                "(it has %(show_value)d)."
            }
            for name in (
                "match_app",
                "match_source",
                "match_message",
                "match_attribute",
                "match_attribute_value",
            )
        }

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization
        targets = self.fields["targets"]
        assert isinstance(targets, TargetChoice)
        targets.queryset = (
            PagerDutyService.objects.filter(organization=organization)
            .select_related("account")
            .order_by("name")
        )
        if self.pages_nobody_now:
            # Its services were removed ("Leave them paging nobody"): its other changes save
            # without one, and saving says it pages nobody (`target_words.saved_warnings`).
            targets.required = False
            targets.help_text = NO_SERVICE_HELP
        kind = self.fields["kind"]
        assert isinstance(kind, forms.ChoiceField)
        kind.choices = ConditionKind.choices  # no empty choice
        kind.required = False  # a post without it means "at least", the default
        match_level = self.fields["match_level"]
        assert isinstance(match_level, forms.ChoiceField)
        match_level.choices = [("", "Any level")] + [
            (value, label.capitalize()) for value, label in Level.choices
        ]
        # Both are checked below, with the bounds said in words.
        for name in ("threshold", "window_minutes"):
            self.fields[name].validators = []
            self.fields[name].widget.attrs.update(min=1)
        for name, label in (
            ("kind", "Fire when"),
            ("threshold", "Number of matching events"),
            ("window_minutes", "Window length"),
            ("window_unit", "Window unit"),
        ):
            self.fields[name].widget.attrs["aria-label"] = label
        minutes = self.instance.window_minutes
        if not self.is_bound and minutes and minutes % 60 == 0:
            self.initial["window_minutes"] = minutes // 60
            self.initial["window_unit"] = "hours"

    @property
    def pages_nobody_now(self) -> bool:
        """A saved alert with no PagerDuty service now (its services' account was
        disconnected, or they were removed): it may be saved without one. A new alert, or
        one that has a service, still needs one (targets prefetched by the callers)."""
        return bool(self.instance.pk) and not self.instance.targets.all()

    def threshold_words(self) -> str:
        """The number as it stands in the form, in words ("3 matching events")."""
        amount = str(self["threshold"].value() or "").strip()
        if as_id(amount) is None:
            return "the number of matching events"
        return f"{int(amount):,} matching event{'' if int(amount) == 1 else 's'}"

    def window_words(self) -> str:
        """The window as it stands in the form, in words ("5 minutes", "1 hour"); the
        page's script says the same as it is typed (static/js/alert-form.js)."""
        amount = str(self["window_minutes"].value() or "").strip()
        unit = str(self["window_unit"].value() or "minutes")
        if as_id(amount) is None or unit not in WINDOW_UNITS:
            return "the window"
        return f"{int(amount)} {unit[:-1] if int(amount) == 1 else unit}"

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        clash = Alert.objects.filter(organization=self.organization, name__iexact=name)
        taken = clash.exclude(pk=self.instance.pk).values_list("name", flat=True).first()
        if taken is not None:  # its own name: the one asked for may differ in case
            raise forms.ValidationError(f"An alert named “{taken}” already exists.")
        return name

    def clean_summary_template(self) -> str:
        template: str = self.cleaned_data["summary_template"]
        problems = template_problems(template)
        if problems:
            raise forms.ValidationError(problems)
        return template

    def clean_kind(self) -> str:
        return self.cleaned_data.get("kind") or ConditionKind.PRESENCE

    def clean_threshold(self) -> int | None:
        threshold: int | None = self.cleaned_data.get("threshold")
        if threshold is not None and threshold < 1:
            raise forms.ValidationError("Use 1 or more.")
        return threshold

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if not data.get("match_message"):
            data["match_message_regex"] = False  # (a bad expression is the model's to refuse)
        amount = data.get("window_minutes")
        if amount is not None:
            unit = data.get("window_unit") or "minutes"
            minutes = amount * WINDOW_UNITS[unit]
            if not 1 <= minutes <= MAX_WINDOW_MINUTES:
                self.add_error(
                    "window_minutes",
                    "The window must be between 1 minute and 24 hours "
                    f"({MAX_WINDOW_MINUTES} minutes).",
                )
            else:
                data["window_minutes"] = minutes
                self._check_reachable(data.get("threshold"), minutes)
        self._check_grouping(data)
        key = (data.get("match_attribute") or "").strip()
        value = data.get("match_attribute_value") or ""
        if value and not key and "match_attribute" not in self.errors:
            self.add_error("match_attribute", f"Name the attribute that must equal “{value}”.")
        if key and not value and "match_attribute_value" not in self.errors:
            self.add_error(
                "match_attribute_value",
                f"Give the value “{key}” must equal, or clear the attribute.",
            )
        return data

    def _check_grouping(self, data: dict[str, Any]) -> None:
        """An attribute to group by needs its name; {group} needs something to group by."""
        name = (data.get("group_attribute") or "").strip()
        if data.get("group_by") == GroupBy.ATTRIBUTE:
            if not name and "group_attribute" not in self.errors:
                self.add_error("group_attribute", "Name the attribute to count separately by.")
            data["group_attribute"] = name
        else:
            data["group_attribute"] = ""
        if (
            not data.get("group_by")
            or data.get("kind") != ConditionKind.ABSENCE
            or not data.get("auto_resolve")
        ):  # only a quiet value of an absence alert that resolves by itself
            data["resolve_quiet_values"] = False
        template = data.get("summary_template") or ""
        if "{group}" in template and not data.get("group_by"):
            self.add_error(
                "summary_template",
                "{group} names the value an alert counts separately for: choose what to "
                "count separately for, or remove {group}.",
            )

    def _check_reachable(self, threshold: int | None, minutes: int) -> None:
        """No more events can arrive in a window than the ingest limit lets in: a number
        above that would make the alert never fire ("at least") or always ("fewer than")."""
        per_minute: int = settings.INGEST_EVENTS_PER_MINUTE
        most = min(per_minute * minutes, MAX_THRESHOLD)
        if threshold is not None and threshold > most:
            self.add_error(
                "threshold",
                f"Use {most:,} or fewer: at most {most:,} events can arrive in "
                f"{window_label(minutes)} ({per_minute:,} a minute is the most "
                f"{settings.PRODUCT_NAME} accepts), so a higher number could never be reached.",
            )

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
            if getattr(f, "cleaned_data", None)
            and f.cleaned_data.get("key")
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
        super().clean()
        data = self.cleaned_data
        if data.get("value") and not data.get("key"):
            self.add_error("key", "Give this value a key.")
        return data


def _detail_formset() -> type[BaseDetailFormSet]:
    formset = inlineformset_factory(
        Alert,
        CustomDetail,
        form=DetailForm,
        formset=BaseDetailFormSet,
        extra=1,  # more are added in place (static/js/alert-form.js)
        can_delete=True,
        max_num=50,
        validate_max=True,
    )
    # The factory subclasses `formset`; its stub says only BaseInlineFormSet.
    assert issubclass(formset, BaseDetailFormSet)
    return formset


DetailFormSet = _detail_formset()
