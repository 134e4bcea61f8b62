from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from alerts_saas.accounts.access import shown_tenant
from alerts_saas.accounts.models import Membership


def tenant(request: HttpRequest) -> dict[str, Any]:
    """The current tenant and the user's organizations, for the navigation."""
    context: dict[str, Any] = {"PRODUCT_NAME": settings.PRODUCT_NAME, "SITE_URL": settings.SITE_URL}
    current = shown_tenant(request)  # none on a page open without two-factor sign-in
    context["tenant"] = current
    if getattr(request, "user", None) is not None and request.user.is_authenticated:
        context["my_memberships"] = (
            Membership.objects.filter(user=request.user)
            .select_related("organization")
            .order_by("organization__name")
        )
    return context
