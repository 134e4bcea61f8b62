from __future__ import annotations

from typing import Any

from django import forms
from django.http import QueryDict

from alerts_saas.accounts.models import Organization
from alerts_saas.ids import as_id
from integrations.pagerduty.keys import INTEGRATION_KEY, KEY_LENGTH, ORCHESTRATION_KEY
from integrations.pagerduty.models import PagerDutyService, Region, integration_key_digest
from integrations.pagerduty.paths import PathState, ServiceHealth, service_health
from integrations.pagerduty.removal import Plan

# What an offered service's option says of a path that still pages but is not well.
OPTION_NOTES = {
    PathState.RECONNECT: "its PagerDuty account needs reconnecting; pages still go out",
    PathState.FAILING: "a delivery to it failed lately",
    PathState.UNCONFIRMED: "changed, and PagerDuty has not accepted an event there yet",
}


class PastedKeyForm(forms.Form):
    """A service added by its integration key, once per organization."""

    name = forms.CharField(
        label="Service name",
        max_length=255,
        help_text="How this service appears when you choose alert targets.",
    )
    integration_key = forms.CharField(
        label="Integration key",
        max_length=64,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="From the service's Integrations tab in PagerDuty: an Events API v2 "
        "integration key (32 characters). Or an Event Orchestration's routing key (32 "
        "characters starting with R): PagerDuty then routes each alert by the orchestration's "
        "rules, and takes no change events on it.",
    )
    region = forms.ChoiceField(
        label="PagerDuty service region",
        choices=Region.choices,
        initial=Region.US,
        help_text="EU if your PagerDuty address ends in .eu.pagerduty.com.",
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization
        # The pasted service whose region this paste corrects (same key, other region).
        self.region_change: PagerDutyService | None = None

    def focus_first_error(self) -> None:
        """Put the cursor on the first field with an error: the page opens there (the
        errors are far below the top of a long page)."""
        for name in self.fields:
            if name in self.errors:
                self.fields[name].widget.attrs["autofocus"] = True
                return

    def clean_integration_key(self) -> str:
        key: str = self.cleaned_data["integration_key"].replace(" ", "")
        if "://" in key or "/" in key:
            raise forms.ValidationError(
                "This is a URL. Paste the Integration Key shown next to it in PagerDuty "
                "(32 letters and digits)."
            )
        if key.startswith("R"):
            _check_orchestration_key(key)
        else:
            _check_integration_key(key)
        return key

    def clean(self) -> dict[str, Any]:
        """The same key twice in an organization is refused, except a pasted key that
        PagerDuty refuses, pasted again with the other region: that corrects the region of
        the entry already there (`region_change`), since PagerDuty knows a key in one region
        only. A key PagerDuty takes is in its right region: not moved."""
        cleaned = super().clean() or {}
        key, region = cleaned.get("integration_key"), cleaned.get("region")
        if not key or not region:
            return cleaned
        same = (
            PagerDutyService.objects.filter(organization=self.organization)
            .filter(key_digest=integration_key_digest(key))
            .select_related("account")
            .first()
        )
        if same is None:
            return cleaned
        if same.account is None and same.region != region and same.refused_at is not None:
            self.region_change = same
            return cleaned
        how = (
            f"connected through PagerDuty account {same.account.name}"
            if same.account is not None
            else "added by its integration key"
        )
        self.add_error(
            "integration_key",
            f"This key is already in use by “{same.name}” ({how}). Events sent with it "
            f"reach the same PagerDuty service, so choose “{same.name}” in your alerts "
            "instead of adding it again.",
        )
        return cleaned


def _check_integration_key(key: str) -> None:
    if len(key) != KEY_LENGTH:
        raise forms.ValidationError(
            f"An integration key is 32 characters long; this one has {len(key)}."
        )
    if not INTEGRATION_KEY.match(key):
        raise forms.ValidationError(
            "An integration key has only lowercase letters and digits. Check that you "
            "copied all of the Integration Key and nothing else."
        )


def _check_orchestration_key(key: str) -> None:
    """A key that starts with R is taken as an Event Orchestration routing key."""
    if len(key) != KEY_LENGTH:
        raise forms.ValidationError(
            "An Event Orchestration routing key (it starts with R) is 32 characters long; "
            f"this one has {len(key)}. Copy it again from the orchestration's Integrations "
            "tab in PagerDuty."
        )
    if not ORCHESTRATION_KEY.match(key):
        raise forms.ValidationError(
            "An Event Orchestration routing key is R followed by capital letters and digits "
            "only. Check that you copied all of the key and nothing else."
        )


class ServiceChoiceField(forms.ModelChoiceField):
    """Services by name, each with what is wrong with its path if it still pages
    (`notes`, by service id)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.notes: dict[int, str] = {}

    def label_from_instance(self, obj: Any) -> str:
        note = self.notes.get(obj.pk)
        return f"{obj.name} ({note})" if note else str(obj.name)


class RemovalForm(forms.Form):
    """What happens to the alerts a removal would leave paging nobody (`removal.Plan`):
    moved to another service of the organization, or left paging nobody, said explicitly.
    `seen` carries the alerts the person was shown, so a change meanwhile is caught."""

    MOVE, NOBODY = "move", "nobody"

    seen = forms.CharField(widget=forms.HiddenInput, required=False)
    alerts = forms.ChoiceField(widget=forms.RadioSelect, required=False)
    move_to = ServiceChoiceField(
        label="Service",
        queryset=PagerDutyService.objects.none(),
        required=False,
        empty_label="Choose a service…",
        error_messages={
            "invalid_choice": "That service can't take them now: it was removed, or pages to "
            "it can't get through. Choose another service."
        },
    )

    def __init__(self, data: QueryDict | None, *, plan: Plan) -> None:
        super().__init__(data, initial={"seen": ",".join(map(str, sorted(plan.orphan_ids)))})
        self.plan = plan
        health = {service.pk: service_health(service) for service in plan.destinations}
        # Not offered: a service PagerDuty refuses (or that was deleted there) pages nobody.
        self.unusable: list[tuple[PagerDutyService, ServiceHealth]] = [
            (service, health[service.pk])
            for service in plan.destinations
            if not health[service.pk].can_page
        ]
        destinations = [pk for pk, path in health.items() if path.can_page]
        move_to = self.fields["move_to"]
        assert isinstance(move_to, ServiceChoiceField)
        move_to.queryset = PagerDutyService.objects.filter(
            organization=plan.organization, pk__in=destinations
        ).order_by("name", "pk")
        move_to.notes = {
            pk: OPTION_NOTES[path.state]
            for pk, path in health.items()
            if path.state in OPTION_NOTES
        }
        self.can_move = bool(destinations)
        choices = [(self.MOVE, "Move them to another service")] if destinations else []
        choices.append((self.NOBODY, "Leave them paging nobody"))
        alerts = self.fields["alerts"]
        assert isinstance(alerts, forms.ChoiceField)
        alerts.choices = choices

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.plan.orphaned:
            return cleaned
        choice = cleaned.get("alerts")
        if not choice:
            self.add_error(
                "alerts",
                "Choose what happens to the alerts that would page nobody: move them to "
                "another service, or confirm that they will page nobody.",
            )
        elif choice == self.MOVE and cleaned.get("move_to") is None:
            self.add_error("move_to", "Choose the service to move them to.")
        return cleaned

    @property
    def seen_ids(self) -> frozenset[int]:
        """The alerts the person was shown as paging nobody afterwards."""
        text = self.cleaned_data.get("seen") or ""
        return frozenset(pk for part in text.split(",") if (pk := as_id(part.strip())) is not None)

    @property
    def destination(self) -> PagerDutyService | None:
        """Where to move them; None when they are to page nobody (or there are none)."""
        if self.cleaned_data.get("alerts") != self.MOVE:
            return None
        service: PagerDutyService | None = self.cleaned_data.get("move_to")
        return service
