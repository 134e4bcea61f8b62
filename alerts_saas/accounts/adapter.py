from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from allauth.account import app_settings as account_settings
from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest

from alerts_saas.accounts.invitation_flow import pending_invitation, pending_invitation_url
from alerts_saas.accounts.two_factor import second_factor_only
from alerts_saas.mail_subjects import one_line


def lockout_words() -> str:
    """How long allauth's lockout after failed sign-ins lasts, from its "login_failed" rate
    limit ("10/m/ip,5/300s/key": the per-address part, in whole minutes)."""
    limit = account_settings.RATE_LIMITS.get("login_failed") or ""
    match = re.search(r"/(\d*)([smhd])/key", limit)
    if match is None:
        return "Try again in a few minutes"
    seconds = int(match.group(1) or 1) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    minutes = max(1, round(seconds / 60))
    return f"Try again in {minutes} minute{'s' if minutes != 1 else ''}"


def on_site(url: str) -> str:
    """`url` (absolute, as allauth builds it from the request) on SITE_URL instead: a Host
    header the server accepts but that is not the site must not receive a password-reset or
    verification key."""
    bits, site = urlsplit(url), urlsplit(settings.SITE_URL)
    if not bits.netloc:
        return url
    path = site.path.rstrip("/") + bits.path
    return urlunsplit((site.scheme, site.netloc, path, bits.query, bits.fragment))


class AccountAdapter(DefaultAccountAdapter):
    """Sends people holding an invitation back to it after they sign in or up; signs
    allauth's emails with the product's name (not the site's host name), and gives them the
    site's address for their links."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.error_messages: dict[str, Any] = {
            **DefaultAccountAdapter.error_messages,
            "too_many_login_attempts": f"Too many failed sign-in attempts. {lockout_words()}.",
        }

    def get_reauthentication_methods(self, user: AbstractBaseUser | AnonymousUser) -> list[dict]:
        """Only the app's code for a session that has to use it and has not (two_factor)."""
        methods = super().get_reauthentication_methods(user)
        return second_factor_only(self.request, user, methods)

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        return pending_invitation_url(request) or super().get_login_redirect_url(request)

    def get_signup_redirect_url(self, request: HttpRequest) -> str:
        return pending_invitation_url(request) or super().get_signup_redirect_url(request)

    def unstash_verified_email(self, request: HttpRequest) -> str | None:
        """The invited address the invitation link stashed as verified (views.invitations),
        only while that invitation can still be accepted: one withdrawn or expired since does
        not vouch for an address any more, and the new account confirms its own by email."""
        email = super().unstash_verified_email(request)
        invitation = pending_invitation(request)
        if email and invitation is not None and invitation.email.lower() == email.lower():
            return email
        return None

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """allauth's emails, their links (activate_url, password_reset_url, signup_url…) on
        SITE_URL whatever Host the request that sent them named."""
        links = {
            key: on_site(value)
            for key, value in context.items()
            if key.endswith("_url") and isinstance(value, str)
        }
        context = {
            "product": settings.PRODUCT_NAME,
            "site_url": settings.SITE_URL,
            **context,
            **links,
        }
        super().send_mail(template_prefix, email, context)

    def format_email_subject(self, subject: str) -> str:
        """allauth's (and its two-factor emails') subjects on one line, as the product's."""
        return one_line(super().format_email_subject(subject))
