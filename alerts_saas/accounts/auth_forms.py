"""allauth's forms with our words: sentence-case labels a person reads at a glance.

Named in settings.ACCOUNT_FORMS; the pages that show them are in templates/account/.
"""

from __future__ import annotations

from typing import Any, ClassVar

from allauth.account import forms as allauth_forms
from allauth.account.fields import EmailField
from allauth.core import context
from django import forms

from alerts_saas.accounts.invitation_flow import pending_invitation
from alerts_saas.accounts.models import Invitation

EMAIL = "Email address"
NEW_PASSWORD = {"password1": "New password", "password2": "New password again"}


class OurLabels(forms.Form):
    """Relabels fields (and drops placeholders that only repeat the label)."""

    labels: ClassVar[dict[str, str]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, label in self.labels.items():
            if name in self.fields:
                field = self.fields[name]
                field.label = label
                field.widget.attrs.pop("placeholder", None)


class LoginForm(OurLabels, allauth_forms.LoginForm):
    labels: ClassVar[dict[str, str]] = {
        "login": EMAIL,
        "password": "Password",
        "remember": "Keep me signed in on this device",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["password"].help_text = ""  # the page links "Forgot your password?"


class InvitedEmailField(EmailField):
    """The invited address, shown read-only: the form shows it again whatever was posted."""

    def bound_data(self, data: Any, initial: Any) -> Any:
        return initial


class SignupForm(OurLabels, allauth_forms.SignupForm):
    """From an invitation (one still pending in the session) the account's address is the
    invited one: the invitation is for that mailbox (accept_invitation refuses any other) and
    the link proved it is theirs. Another posted address is refused in words, so no account
    is made with a stray unverified address beside the invited one."""

    labels: ClassVar[dict[str, str]] = {
        "email": EMAIL,
        "password1": "Password",
        "password2": "Password again",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.invitation: Invitation | None = pending_invitation(context.request)
        if self.invitation is not None:
            self.fields["email"] = InvitedEmailField(
                label=EMAIL,
                initial=self.invitation.email,
                help_text="The address you were invited at.",
                widget=forms.EmailInput(attrs={"readonly": True, "autocomplete": "email"}),
            )

    def clean_email(self) -> str:
        invited = self.invitation.email if self.invitation is not None else None
        if invited is not None and self.cleaned_data["email"] != invited.lower():
            raise forms.ValidationError(
                f"You were invited as {invited}, so your account uses that address. "
                "Once you have joined you can add another under Profile → Email addresses."
            )
        return str(super().clean_email())


class AddEmailForm(OurLabels, allauth_forms.AddEmailForm):
    labels: ClassVar[dict[str, str]] = {"email": EMAIL}


class ChangePasswordForm(OurLabels, allauth_forms.ChangePasswordForm):
    labels: ClassVar[dict[str, str]] = {"oldpassword": "Current password", **NEW_PASSWORD}


class ResetPasswordForm(OurLabels, allauth_forms.ResetPasswordForm):
    labels: ClassVar[dict[str, str]] = {"email": EMAIL}


class ResetPasswordKeyForm(OurLabels, allauth_forms.ResetPasswordKeyForm):
    labels: ClassVar[dict[str, str]] = NEW_PASSWORD
