"""The dashboard (the organization's home, refreshed in place by htmx) and the page of
failed deliveries it links to."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from alerts_saas.accounts.access import TenantRequest, tenant_view
from alerts_saas.alerts.problems import problems_shown
from alerts_saas.alerts.views.mutes import muted_now
from alerts_saas.dashboard.checklist import checklist
from alerts_saas.dashboard.events import events_panel
from alerts_saas.dashboard.failures import Cursor, failure_page, recent_failures, sent_any
from alerts_saas.dashboard.firing import firing_section
from alerts_saas.dashboard.untried import untried
from alerts_saas.dashboard.unwatched import unwatched
from alerts_saas.ingest import refusals
from integrations.pagerduty.departures import connected_by_former_members

REFRESH_SECONDS = 15
PROBLEMS_SHOWN = 8
REVOKED_SHOWN = 5  # revoked ingest keys still in use: rarely more than one


def _context(request: TenantRequest) -> dict[str, Any]:
    organization = request.tenant.organization
    now = timezone.now()
    firing = firing_section(organization, now)
    paging = problems_shown(organization, PROBLEMS_SHOWN)
    broken = paging.shown
    steps = checklist(organization)
    return {
        "now": now,
        "firing": firing,
        "muted": muted_now(organization.pk, organization.slug, now),
        "unwatched": unwatched(organization),
        "problems": broken,
        "more_problems": paging.more,
        # Accounts to reconnect are not broken paths: their pages still go out. Nor are
        # services no enabled alert pages through: counted apart.
        "to_reconnect": paging.to_reconnect,
        "broken_paths": paging.broken,
        "unused_broken": paging.unused,
        # Services a person changed that PagerDuty has not confirmed: not "every path works".
        "unconfirmed": paging.unconfirmed,
        # Unrefused, but PagerDuty took no event on their current key yet: not "works".
        # Read whenever no path is broken or unconfirmed: accounts to reconnect break none.
        "untried": untried(organization) if not paging.broken and not paging.unconfirmed else [],
        "failures": recent_failures(organization, now),
        "events": events_panel(organization.pk, now, steps.last_event_at),
        "revoked_in_use": refusals.in_use(organization.pk, now, REVOKED_SHOWN),
        # Accounts that act as someone who left: paging works, acting names them.
        "connector_left": connected_by_former_members(organization),
        "checklist": steps,
        # A new organization's first look is its checklist, unless something is wrong.
        "checklist_first": not steps.complete and not firing.total and not broken,
        "refresh_seconds": REFRESH_SECONDS,
    }


@tenant_view()
@require_GET
def home(request: TenantRequest) -> HttpResponse:
    return render(request, "dashboard/home.html", _context(request))


@tenant_view()
@require_GET
def live(request: TenantRequest) -> HttpResponse:
    """The dashboard's sections alone, for htmx to swap in."""
    return render(request, "dashboard/_live.html", _context(request))


@tenant_view()
@require_GET
def failed_deliveries(request: TenantRequest) -> HttpResponse:
    organization = request.tenant.organization
    after = Cursor.parse(request.GET.get("before"))
    page = failure_page(organization, after)
    return render(
        request,
        "dashboard/failed_deliveries.html",
        {
            "page": page,
            "from_start": after is None,
            "sent_any": bool(page.failures) or sent_any(organization),
        },
    )
