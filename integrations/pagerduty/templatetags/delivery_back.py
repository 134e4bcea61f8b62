"""`{% delivery_back delivery as back %}`: the delivery page's "←" link, to where the person
came from: the failed deliveries, the dashboard, the service's deliveries, else the alert
it was sent for (Integrations for a test event; once its service is removed from Tripwire,
the failed deliveries for a failed one, else the dashboard).

Where they came from is `?from=` (one of `PLACES`) or the Referer (sent same-origin only,
`SECURE_REFERRER_POLICY`) matched to one of these routes in this organization. Either only
chooses among links built here from the delivery and the organization: nothing the request
carries is ever put in the link, so it can't point anywhere else.

Here, with the page that uses it: the integration's templates load nothing from the alerts
app (DESIGN.md's direction). The alert and the dashboard are reached by their URL names
alone; the alert's name comes with the delivery (`views.manage.delivery_status` reads it
with `select_related`), so the link costs no query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django import template
from django.urls import Resolver404, resolve, reverse

from integrations.pagerduty.models import Delivery

register = template.Library()

# `?from=` value → the route it names.
PLACES = {
    "failures": "dashboard:failed_deliveries",
    "dashboard": "dashboard:home",
    "service": "pagerduty:service_deliveries",
    "alert": "alerts:detail",
    "integrations": "pagerduty:integrations",
}


@dataclass(frozen=True)
class Back:
    url: str
    label: str


def _came_from(request: Any, slug: str) -> str | None:
    """The route named by `?from=`, else the Referer's if it is one of ours in `slug`."""
    named = PLACES.get(request.GET.get("from", ""))
    if named is not None:
        return named
    referer = urlsplit(request.META.get("HTTP_REFERER", ""))
    if referer.netloc and referer.netloc != request.get_host():
        return None
    try:
        match = resolve(referer.path or "/")
    except Resolver404:
        return None
    if match.kwargs.get("slug") != slug or match.view_name not in PLACES.values():
        return None
    return match.view_name


@register.simple_tag(takes_context=True)
def delivery_back(context: dict[str, Any], delivery: Delivery) -> Back:
    slug = context["tenant"].organization.slug
    came = _came_from(context["request"], slug)
    if came == "dashboard:failed_deliveries":
        return Back(reverse(came, args=[slug]), "Failed deliveries")
    if came == "dashboard:home":
        return Back(reverse(came, args=[slug]), "Dashboard")
    if came == "pagerduty:service_deliveries" and delivery.service_id is not None:
        url = reverse(came, args=[slug, delivery.service_id])
        return Back(url, f"Deliveries to {delivery.service_name}")
    if came != "pagerduty:integrations" and delivery.alert_id is not None:
        alert = delivery.alert
        assert alert is not None
        return Back(reverse("alerts:detail", args=[slug, alert.pk]), alert.name)
    if delivery.service_id is not None:
        return Back(reverse("pagerduty:integrations", args=[slug]), "Integrations")
    # Its service was removed from Tripwire: Integrations no longer shows it.
    if delivery.status == Delivery.Status.FAILED:
        return Back(reverse("dashboard:failed_deliveries", args=[slug]), "Failed deliveries")
    return Back(reverse("dashboard:home", args=[slug]), "Dashboard")
