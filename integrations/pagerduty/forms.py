from __future__ import annotations

import re

from django import forms

from integrations.pagerduty.models import Region

# Integration keys are 32 characters of lowercase letters and digits (PagerDuty's
# generated routing keys); a ruleset's key starts with "R" and takes alerts, not changes.
INTEGRATION_KEY = re.compile(r"^[a-z0-9]{32}$")
RULESET_KEY = re.compile(r"^R[A-Za-z0-9]{31}$")


class PastedKeyForm(forms.Form):
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
        "integration key (32 characters).",
    )
    region = forms.ChoiceField(
        label="PagerDuty service region",
        choices=Region.choices,
        initial=Region.US,
        help_text="EU if your PagerDuty address ends in .eu.pagerduty.com.",
    )

    def clean_integration_key(self) -> str:
        key: str = self.cleaned_data["integration_key"].replace(" ", "")
        if "://" in key or "/" in key:
            raise forms.ValidationError(
                "This is a URL. Paste the Integration Key shown next to it in PagerDuty "
                "(32 letters and digits)."
            )
        if RULESET_KEY.match(key):
            raise forms.ValidationError(
                "This looks like an Event Orchestration or ruleset key (it starts with R). "
                "Those route alerts but cannot take change events; paste a service's "
                "Events API v2 integration key instead."
            )
        if len(key) != 32:
            raise forms.ValidationError(
                f"An integration key is 32 characters long; this one has {len(key)}."
            )
        if not INTEGRATION_KEY.match(key):
            raise forms.ValidationError(
                "An integration key has only lowercase letters and digits. Check that you "
                "copied all of the Integration Key and nothing else."
            )
        return key
