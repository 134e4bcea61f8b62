"""An organization that asks its members for two-factor sign-in.

`resolve_tenant` (the one access path) raises `TwoFactorRequired` for a member without it;
`TwoFactorMiddleware` turns that into a trip to the set-up page, saying which organization
asks and why. The API authenticates tokens, not people, and never goes through here.
"""

from __future__ import annotations

from collections.abc import Callable

from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django_htmx.http import HttpResponseClientRedirect

from alerts_saas.accounts.models import Organization, User

# Where the person was going when they were sent to set it up: the set-up's last page links
# back there.
NEXT_SESSION_KEY = "two_factor_next"


class TwoFactorRequired(Exception):
    """The member must set up two-factor sign-in before they see this organization."""

    def __init__(self, organization: Organization) -> None:
        super().__init__(f"{organization} requires two-factor sign-in.")
        self.organization = organization


def lacks_two_factor(organization: Organization, user: User) -> bool:
    """Whether the organization asks for two-factor sign-in and the user has none."""
    return organization.require_two_factor and not is_mfa_enabled(user)


def check_two_factor(organization: Organization, user: User) -> None:
    """Raise `TwoFactorRequired` if the organization asks for it and the user has none."""
    if lacks_two_factor(organization, user):
        raise TwoFactorRequired(organization)


class TwoFactorMiddleware:
    """Sends a member stopped by `TwoFactorRequired` to set up an authenticator app."""

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
        htmx = bool(getattr(request, "htmx", False))
        if request.method == "GET" and not htmx:  # a whole page, to come back to
            request.session[NEXT_SESSION_KEY] = request.get_full_path()
        organization = exception.organization
        leave = reverse("accounts:org_leave", kwargs={"slug": organization.slug})
        messages.warning(  # leaving is open without it (`tenant_view(two_factor=False)`)
            request,
            format_html(
                "{} asks every member to use two-factor sign-in: set up an authenticator app "
                'to open its pages. Rather not? <a href="{}">Leave {}</a>.',
                organization,
                leave,
                organization,
            ),
        )
        url = reverse("mfa_activate_totp")
        if htmx:
            return HttpResponseClientRedirect(url)
        return HttpResponseRedirect(url)
