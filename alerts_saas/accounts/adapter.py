from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest

from alerts_saas.accounts.invitation_flow import pending_invitation_url


class AccountAdapter(DefaultAccountAdapter):
    """Sends people holding an invitation back to it after they sign in or up."""

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        return pending_invitation_url(request) or super().get_login_redirect_url(request)

    def get_signup_redirect_url(self, request: HttpRequest) -> str:
        return pending_invitation_url(request) or super().get_signup_redirect_url(request)
