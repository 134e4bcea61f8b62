from __future__ import annotations

from typing import Any

from django import forms

from alerts_saas.accounts.models import Organization
from alerts_saas.ingest.models import IngestKey

NAME_MAX = IngestKey._meta.get_field("name").max_length


class IngestKeyForm(forms.Form):
    name = forms.CharField(
        label="Key name",
        max_length=NAME_MAX,
        strip=True,
        widget=forms.TextInput(attrs={"placeholder": "e.g. web servers", "autocomplete": "off"}),
        help_text="What sends with it, so you know which key to revoke later.",
        error_messages={
            "required": "Give the key a name, e.g. “web servers” or “billing worker”.",
            "max_length": "A key name can be at most %(limit_value)d characters; "
            "this one has %(show_value)d.",
        },
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"]
        if IngestKey.objects.filter(
            organization=self.organization, revoked_at__isnull=True, name__iexact=name
        ).exists():
            raise forms.ValidationError(
                f"An active key named “{name}” already exists. Choose another name, "
                "or revoke the old key first."
            )
        return name
