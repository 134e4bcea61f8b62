"""The two ways to mute: now for a while (or until a time), or every week on a schedule."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from alerts_saas.accounts.times import zone_of, zones
from alerts_saas.accounts.zone_select import ZoneSelect, zone_choices
from alerts_saas.alerts.mutes import MAX_WEEKLY_MINUTES, WEEKDAY_NAMES

MAX_ONCE = timedelta(days=31)
DURATIONS = [
    ("30", "30 minutes"),
    ("60", "1 hour"),
    ("120", "2 hours"),
    ("240", "4 hours"),
    ("until", "Until a time…"),
]


class MuteNowForm(forms.Form):
    """Muted from now: for one of the durations, or until a time in the zone the form named
    (`page_zone`, sent with it: the page's, `times.page_zone`), else the active one."""

    length = forms.ChoiceField(label="For", choices=DURATIONS, initial="60")
    until = forms.DateTimeField(
        label="Until",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    reason = forms.CharField(label="Why", max_length=200, required=False)
    page_zone = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        named = str(self.data.get(self.add_prefix("page_zone"), "")) if self.data else ""
        self.zone = zone_of(named) if named in zones() else timezone.get_current_timezone()

    def full_clean(self) -> None:
        """A time typed without an offset is read in `zone`; one with an offset as sent."""
        with timezone.override(self.zone):
            super().full_clean()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        now = timezone.now()
        until: datetime | None = data.get("until")
        if data.get("length") == "until" or until is not None:  # a time typed wins
            if until is None:
                raise forms.ValidationError({"until": "Say until when."})
            if until <= now:
                raise forms.ValidationError({"until": "That time has passed: choose a later one."})
            if until - now > MAX_ONCE:
                raise forms.ValidationError(
                    {"until": "At most 31 days ahead; for a regular quiet time, use a schedule."}
                )
            data["ends_at"] = until
        elif data.get("length"):
            data["ends_at"] = now + timedelta(minutes=int(data["length"]))
        data["starts_at"] = now
        return data


class ScheduleForm(forms.Form):
    """Every week on these days, from a time to a time on the clock of a time zone."""

    weekdays = forms.MultipleChoiceField(
        label="On",
        choices=[(str(i), name) for i, name in enumerate(WEEKDAY_NAMES)],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one day."},
    )
    start = forms.TimeField(label="From", widget=forms.TimeInput(attrs={"type": "time"}))
    end = forms.TimeField(
        label="To",
        widget=forms.TimeInput(attrs={"type": "time"}),
        help_text="Earlier than the start: it ends the next day.",
    )
    time_zone = forms.ChoiceField(label="Time zone", widget=ZoneSelect)
    reason = forms.CharField(label="Why", max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["time_zone"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = zone_choices()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start is None or end is None:
            return data
        minutes = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
        if minutes == 0:
            raise forms.ValidationError({"end": "It would end as it starts: choose another time."})
        data["duration_minutes"] = min(minutes % (24 * 60), MAX_WEEKLY_MINUTES)
        data["weekdays"] = "".join(sorted(data.get("weekdays") or []))
        return data
