from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.html import escape

from alerts_saas.accounts.former_slugs import slug_taken
from alerts_saas.accounts.models import Invitation, Membership, Organization, Role, User
from alerts_saas.accounts.services import RESERVED_SLUGS
from alerts_saas.accounts.zone_select import ZoneSelect, zone_choices

SLUG_RULE = "Lowercase letters, digits and hyphens"
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
SLUG_CHAR = re.compile(r"[a-z0-9-]")


class OrganizationForm(forms.ModelForm):
    slug = forms.CharField(
        label="URL name",
        max_length=50,
        required=False,
        error_messages={"max_length": "Keep it to 50 characters or fewer (it has %(show_value)d)."},
    )

    class Meta:
        model = Organization
        fields = ["name", "slug", "require_two_factor"]
        help_texts = {"name": "Usually your company or team name."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Escaped here: Django's form templates print help texts as HTML.
        if self.instance.pk:
            where = (
                f"Your pages live under /o/{self.instance.slug}/. If you change it, links "
                "already sent (in PagerDuty incidents, emails) keep working: they lead your "
                "members to the new name."
            )
        else:
            where = "Leave it empty to make one from the name."
            del self.fields["require_two_factor"]  # set later, under Settings, once there
        self.fields["slug"].help_text = escape(f"{SLUG_RULE}, e.g. acme-ops. {where}")

    def clean_slug(self) -> str:
        slug: str = (self.cleaned_data.get("slug") or "").strip().lower()
        if slug and not SLUG.fullmatch(slug):
            others = dict.fromkeys(c for c in slug if not SLUG_CHAR.fullmatch(c))
            if others:
                shown = ", ".join("a space" if c.isspace() else f"“{c}”" for c in others)
                raise forms.ValidationError(
                    f"Use only lowercase letters, digits and hyphens (e.g. acme-ops); "
                    f"this has {shown}."
                )
            raise forms.ValidationError(
                "Start and end with a letter or digit, with single hyphens between words "
                "(e.g. acme-ops)."
            )
        if slug in RESERVED_SLUGS:
            raise forms.ValidationError(f"“{slug}” is reserved. Choose another URL name.")
        if slug and slug_taken(slug, self.instance):
            raise forms.ValidationError("That URL name is taken. Choose another one.")
        return slug


class InviteForm(forms.Form):
    email = forms.EmailField(
        label="Email address", widget=forms.EmailInput(attrs={"placeholder": "name@example.com"})
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)

    def __init__(
        self, *args: Any, organization: Organization, can_invite_owner: bool, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization
        if not can_invite_owner:
            role = self.fields["role"]
            assert isinstance(role, forms.ChoiceField)
            role.choices = [c for c in Role.choices if c[0] != Role.OWNER]

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"].strip()
        if Membership.objects.filter(
            organization=self.organization, user__email__iexact=email
        ).exists():
            raise forms.ValidationError(f"{email} is already a member of {self.organization}.")
        if (
            Invitation.objects.pending()
            .filter(organization=self.organization, email__iexact=email)
            .exists()
        ):
            raise forms.ValidationError(
                f"{email} already has a pending invitation. Withdraw it to send a new one."
            )
        return email


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ProfileForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        label="Time zone",
        widget=ZoneSelect,
        help_text="Times on every page are shown in this zone; hover over one to see it in UTC.",
        error_messages={"invalid_choice": "Choose a time zone from the list."},
    )

    class Meta:
        model = User
        fields = ["time_zone"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["time_zone"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = zone_choices()
        self.initial["time_zone"] = self.instance.time_zone or "UTC"
