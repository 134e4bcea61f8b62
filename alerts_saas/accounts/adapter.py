from __future__ import annotations

import re
from typing import Any

from allauth.account import app_settings as account_settings
from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.http import HttpRequest

from alerts_saas.accounts.invitation_flow import pending_invitation_url


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

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        return pending_invitation_url(request) or super().get_login_redirect_url(request)

    def get_signup_redirect_url(self, request: HttpRequest) -> str:
        return pending_invitation_url(request) or super().get_signup_redirect_url(request)

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        context = {"product": settings.PRODUCT_NAME, "site_url": settings.SITE_URL, **context}
        super().send_mail(template_prefix, email, context)
