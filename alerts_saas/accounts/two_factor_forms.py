"""allauth.mfa's code forms, in our words (settings.MFA_FORMS), allauth itself untouched.

A code from the app that was right but already used (typed twice within its 30 seconds,
or a page sent twice) is said as such: allauth's "Incorrect code." reads as a wrong phone
clock. After signing in with a recovery code, a message says so, how many are left and,
when few are, where to make new ones.
"""

from __future__ import annotations

from allauth.core import context
from allauth.mfa import app_settings
from allauth.mfa.base.forms import AuthenticateForm, BaseAuthenticateForm, ReauthenticateForm
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import validate_totp_code
from allauth.mfa.utils import decrypt
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

JUST_USED = (
    "This code was just used, and each code works once. Wait for your app to show the next "
    "one (a new code every {period} seconds) and type that."
)
FEW_LEFT = 3  # from here on, the message says where to make new ones


def _just_used(user_id: object, code: str) -> bool:
    """Whether `code` is the user's app's code now (so refused only as already used)."""
    for totp in Authenticator.objects.filter(user_id=user_id, type=Authenticator.Type.TOTP):
        if validate_totp_code(decrypt(totp.data["secret"]), code):
            return True
    return False


def recovery_code_used(
    request: HttpRequest, authenticator: Authenticator, done: str = "signed in"
) -> None:
    """The message after a recovery code signed in (or confirmed a change: `done`): it
    won't work again, how many are left."""
    fresh = Authenticator.objects.get(pk=authenticator.pk)  # its used codes, as saved now
    left, total = len(RecoveryCodes(fresh).get_unused_codes()), app_settings.RECOVERY_CODE_COUNT
    said = f"You {done} with a recovery code; it won't work again. {left} of {total} left."
    if left > FEW_LEFT:
        messages.info(request, said)
        return
    where = reverse("mfa_view_recovery_codes")
    if left == 0:
        said = f"You {done} with your last recovery code: none is left."
    messages.warning(
        request,
        format_html(
            '{} <a href="{}">Make new recovery codes</a> (Two-factor sign-in → Recovery codes) '
            "before you need one.",
            said,
            where,
        ),
    )


class _Worded(BaseAuthenticateForm):
    def clean_code(self) -> str:
        try:
            return super().clean_code()
        except ValidationError as refused:
            code = self.cleaned_data.get("code") or ""
            if refused.code == "incorrect_code" and _just_used(self.user.pk, code):
                message = JUST_USED.format(period=app_settings.TOTP_PERIOD)
                raise ValidationError(message, code="code_just_used") from refused
            raise

    done = "signed in"

    def _said_after(self) -> None:
        if self.authenticator.type == Authenticator.Type.RECOVERY_CODES:
            recovery_code_used(context.request, self.authenticator, self.done)


class SignInCodeForm(_Worded, AuthenticateForm):
    """The code asked after the password (MFA_FORMS["authenticate"])."""

    def save(self) -> None:
        super().save()
        self._said_after()


class ReauthenticateCodeForm(_Worded, ReauthenticateForm):
    """The code asked again before a change to how one signs in (MFA_FORMS["reauthenticate"])."""

    done = "confirmed"

    def save(self) -> None:
        super().save()
        self._said_after()
