from __future__ import annotations

from typing import Any

from django import forms

from alerts_saas.accounts.models import Organization
from alerts_saas.ingest.models import ApiToken, IngestKey, Scope

NAME_MAX = IngestKey._meta.get_field("name").max_length


class IngestKeyForm(forms.Form):
    """A new ingest key's name; `ApiTokenForm` adds a token's scope. A name is unique among
    the organization's active ones of its kind."""

    model: type[IngestKey] | type[ApiToken] = IngestKey
    noun = "key"

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
        if self.model._default_manager.filter(
            organization=self.organization, revoked_at__isnull=True, name__iexact=name
        ).exists():
            raise forms.ValidationError(
                f"An active {self.noun} named “{name}” already exists. Choose another name, "
                f"or revoke the old {self.noun} first."
            )
        return name


class ApiTokenForm(IngestKeyForm):
    model = ApiToken
    noun = "token"

    scope = forms.ChoiceField(
        label="What it may do",
        choices=[
            (Scope.READ.value, "Read: list and read alerts, services, history and keys"),
            (Scope.WRITE.value, "Read and write: also create, change and delete them"),
        ],
        initial=Scope.READ.value,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose whether the token may only read, or also write."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        name = self.fields["name"]
        name.label = "Token name"
        name.widget.attrs["placeholder"] = "e.g. terraform"
        name.help_text = "What uses it, so you know which token to revoke later."
        name.error_messages = {
            "required": "Give the token a name, e.g. “terraform” or “CI”.",
            "max_length": "A token name can be at most %(limit_value)d characters; "
            "this one has %(show_value)d.",
        }
