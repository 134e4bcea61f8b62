from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.http import HttpRequest

from alerts_saas.accounts.invitation_flow import pending_invitation_url


class AccountAdapter(DefaultAccountAdapter):
    """Sends people holding an invitation back to it after they sign in or up; signs
    allauth's emails with the product's name (not the site's host name)."""

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        return pending_invitation_url(request) or super().get_login_redirect_url(request)

    def get_signup_redirect_url(self, request: HttpRequest) -> str:
        return pending_invitation_url(request) or super().get_signup_redirect_url(request)

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        super().send_mail(template_prefix, email, {"product": settings.PRODUCT_NAME, **context})
