from __future__ import annotations

from typing import Any

from django import forms

from alerts_saas.accounts.models import Invitation, Membership, Organization, Role
from alerts_saas.accounts.services import RESERVED_SLUGS


class OrganizationForm(forms.ModelForm):
    class Meta:
        model = Organization
        fields = ["name", "slug"]
        labels = {"slug": "URL name"}
        help_texts = {
            "name": "Usually your company or team name.",
            "slug": "Lowercase letters, digits and hyphens. Your pages live under /o/<URL name>/.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False

    def clean_slug(self) -> str:
        slug: str = self.cleaned_data.get("slug") or ""
        if slug in RESERVED_SLUGS:
            raise forms.ValidationError(f"“{slug}” is reserved. Choose another URL name.")
        if slug and Organization.objects.filter(slug=slug).exclude(pk=self.instance.pk).exists():
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
