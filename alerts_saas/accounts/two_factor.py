"""An organization that asks its members for two-factor sign-in.

What counts is this session, not the account: a member is let in once this session used a
code from their authenticator app (allauth records an "mfa" authentication when a code signs
in or confirms it is you) or set the app up (`ActivateTOTPView`: the code typed to set it up
proves it, and allauth records nothing then). An account's app added in another browser does
not let in a session that signed in with the password alone.

`missing_two_factor` is the one place that decides; `resolve_tenant` (the one access path)
raises `TwoFactorRequired` with what is missing; `TwoFactorMiddleware` turns that into a trip
to set up an app, or to allauth's page asking for the app's code (then back to the page
asked for); confirming it is you asks such a session for that code too
(`second_factor_only`). The API authenticates tokens, not people, and never goes through
here.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.views import ActivateTOTPView as AllauthActivateTOTPView
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.forms import Form
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django_htmx.http import HttpResponseClientRedirect

from alerts_saas.accounts.models import Membership, Organization, User

# Where the person was going when they were sent to set it up: the set-up's last page links
# back there.
NEXT_SESSION_KEY = "two_factor_next"
# The authenticator app set up in this session (its id): the code typed to set it up counts
# as this session's second factor, as long as that app is still the account's.
SET_UP_HERE_SESSION_KEY = "two_factor_set_up_here"


class Missing(StrEnum):
    """What a member lacks in an organization that asks for two-factor sign-in."""

    APP = "app"  # the account has no authenticator app: set one up
    CODE = "code"  # it has one, but this session signed in without its code: type one


class TwoFactorRequired(Exception):
    """The member must set up two-factor sign-in, or use it in this session, before they
    see this organization."""

    def __init__(self, organization: Organization, missing: Missing = Missing.APP) -> None:
        super().__init__(f"{organization} requires two-factor sign-in.")
        self.organization = organization
        self.missing = missing


def used_two_factor(request: HttpRequest, user: User) -> bool:
    """Whether this session proved the user's second factor: a code at sign-in or when
    confirming it is you (allauth's "mfa" record), or the app set up here."""
    records = get_authentication_records(request, user)
    if any(record.get("method") == "mfa" for record in records):
        return True
    set_up = request.session.get(SET_UP_HERE_SESSION_KEY)
    if set_up is None:
        return False
    return Authenticator.objects.filter(pk=set_up, user_id=user.pk).exists()


def missing_two_factor(request: HttpRequest, organization: Organization) -> Missing | None:
    """What this session lacks to open an organization's pages: nothing if it does not ask
    for two-factor sign-in."""
    if not organization.require_two_factor:
        return None
    user = request.user
    if not isinstance(user, User) or not is_mfa_enabled(user):
        return Missing.APP
    if used_two_factor(request, user):
        return None
    return Missing.CODE


def second_factor_only(
    request: HttpRequest | None, user: object, methods: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """allauth's ways to confirm it is you (`methods`, password first), keeping only the
    app's code for a member of an organization that asks for two-factor sign-in whose
    session has not used it: else the password alone would let that session make new
    recovery codes, or turn the app off and set up its own, and so get in."""
    second = [method for method in methods if method["id"].startswith("mfa_reauthenticate")]
    if not second or request is None or not isinstance(user, User):
        return methods  # no app: nothing to keep it from
    if used_two_factor(request, user):
        return methods
    asked = Membership.objects.filter(user_id=user.pk, organization__require_two_factor=True)
    return second if asked.exists() else methods


def check_two_factor(request: HttpRequest, organization: Organization) -> None:
    """Raise `TwoFactorRequired` if the organization asks for it and this session lacks it."""
    missing = missing_two_factor(request, organization)
    if missing is not None:
        raise TwoFactorRequired(organization, missing)


class ActivateTOTPView(AllauthActivateTOTPView):
    """allauth's set-up of an authenticator app (same URL and name), remembering that this
    session set it up: the code typed proved it, as a code at sign-in would."""

    def form_valid(self, form: Form) -> HttpResponse:
        response = super().form_valid(form)
        added = Authenticator.objects.filter(
            user_id=self.request.user.pk, type=Authenticator.Type.TOTP
        ).values_list("pk", flat=True)
        self.request.session[SET_UP_HERE_SESSION_KEY] = added.first()
        return response


activate_totp = ActivateTOTPView.as_view()


def ask_for_code_url(organization: Organization, request: HttpRequest) -> str:
    """allauth's page asking for the app's code, coming back to the page asked for (a whole
    page asked for, the page an htmx request came from, else the organization's home)."""
    back = None
    htmx = getattr(request, "htmx", None)
    if htmx:
        back = htmx.current_url_abs_path
    elif request.method == "GET":
        back = request.get_full_path()
    if not back:
        back = reverse("dashboard:home", kwargs={"slug": organization.slug})
    return f"{reverse('mfa_reauthenticate')}?{urlencode({'next': back})}"


class TwoFactorMiddleware:
    """Sends a member stopped by `TwoFactorRequired` to set up an authenticator app, or to
    type its code when their account has one and this session did not use it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # Arrived where set-up interrupted them: its pages stop offering the way back.
        session = getattr(request, "session", None)
        if (
            session is not None
            and response.status_code == 200
            and not response.has_header("HX-Redirect")
            and session.get(NEXT_SESSION_KEY) == request.get_full_path()
        ):
            del session[NEXT_SESSION_KEY]
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, TwoFactorRequired):
            return None
        organization = exception.organization
        htmx = bool(getattr(request, "htmx", False))
        if exception.missing == Missing.CODE:
            messages.warning(
                request,
                f"{organization} asks for two-factor sign-in: enter a code from your "
                "authenticator app to continue.",
            )
            url = ask_for_code_url(organization, request)
        else:
            if request.method == "GET" and not htmx:  # a whole page, to come back to
                request.session[NEXT_SESSION_KEY] = request.get_full_path()
            leave = reverse("accounts:org_leave", kwargs={"slug": organization.slug})
            messages.warning(  # leaving is open without it (`tenant_view(two_factor=False)`)
                request,
                format_html(
                    "{} asks every member to use two-factor sign-in: set up an authenticator "
                    'app to open its pages. Rather not? <a href="{}">Leave {}</a>.',
                    organization,
                    leave,
                    organization,
                ),
            )
            url = reverse("mfa_activate_totp")
        if htmx:
            return HttpResponseClientRedirect(url)
        return HttpResponseRedirect(url)
