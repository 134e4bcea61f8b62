"""allauth's forms with our words: sentence-case labels a person reads at a glance.

Named in settings.ACCOUNT_FORMS; the pages that show them are in templates/account/.
"""

from __future__ import annotations

from typing import Any, ClassVar

from allauth.account import forms as allauth_forms
from django import forms

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


class SignupForm(OurLabels, allauth_forms.SignupForm):
    labels: ClassVar[dict[str, str]] = {
        "email": EMAIL,
        "password1": "Password",
        "password2": "Password again",
    }


class AddEmailForm(OurLabels, allauth_forms.AddEmailForm):
    labels: ClassVar[dict[str, str]] = {"email": EMAIL}


class ChangePasswordForm(OurLabels, allauth_forms.ChangePasswordForm):
    labels: ClassVar[dict[str, str]] = {"oldpassword": "Current password", **NEW_PASSWORD}


class ResetPasswordForm(OurLabels, allauth_forms.ResetPasswordForm):
    labels: ClassVar[dict[str, str]] = {"email": EMAIL}


class ResetPasswordKeyForm(OurLabels, allauth_forms.ResetPasswordKeyForm):
    labels: ClassVar[dict[str, str]] = NEW_PASSWORD
