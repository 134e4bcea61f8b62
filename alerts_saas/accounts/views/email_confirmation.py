"""Confirming an email address: the link again from "Check your email", and a link opened
again after its address was confirmed.

allauth signs in on confirmation (ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION) only in the browser
that signed up or tried to sign in, the one holding the pending sign-in: the link opened on
another device confirms the address and no more. Its link (an HMAC of the address) stops
working once the address is confirmed, and allauth then said only "too old or already used"."""

from __future__ import annotations

from typing import Any

from allauth.account import app_settings
from allauth.account.internal.flows.email_verification import send_verification_email_at_login
from allauth.account.models import EmailAddress
from allauth.account.stages import EmailVerificationStage, LoginStageController
from allauth.account.views import ConfirmEmailView
from django.contrib import messages
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST


@require_POST
def send_link_again(request: HttpRequest) -> HttpResponse:
    """A new confirmation link for the sign-up (or sign-in) this browser is in the middle of.

    As allauth's own sending: an address that already has an account gets that email
    instead (no telling which addresses have one), and one link per few minutes per address
    (EMAIL_CONFIRMATION_COOLDOWN)."""
    stage = LoginStageController.enter(request, EmailVerificationStage.key)
    if stage is None:  # sign-up done elsewhere, or its 15 minutes over
        messages.info(
            request,
            "Sign in with your email address and password: if the address is not confirmed "
            "yet, we send a new link then.",
        )
        return redirect("account_login")
    email = stage.login.email or (stage.login.user and stage.login.user.email) or "you"
    if send_verification_email_at_login(request, stage.login):
        messages.success(request, f"We sent a new link to {email}.")
    else:
        messages.warning(
            request,
            f"A link went to {email} in the last few minutes: it can take a minute or two to "
            "arrive, so look in your spam folder too. Ask again in a few minutes.",
        )
    return redirect("account_email_verification_sent")


def confirmed_already(key: str) -> str | None:
    """The address of a confirmation link whose address is confirmed now, however old the
    link: the link no longer confirms anything, but it is no mistake either."""
    try:
        pk = signing.loads(key, salt=app_settings.SALT)
    except signing.BadSignature:
        return None
    found = EmailAddress.objects.filter(pk=pk, verified=True).values_list("email", flat=True)
    return next(iter(found), None)


class ConfirmEmail(ConfirmEmailView):
    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        if not self.object:
            context["confirmed_already"] = confirmed_already(self.kwargs["key"])
        return context


confirm_email = ConfirmEmail.as_view()
