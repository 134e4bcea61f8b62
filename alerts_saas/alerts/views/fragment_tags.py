"""ETags for the firing's targets fragment, which a page polls every few seconds.

The fragment (`history.alert_firing_targets`) costs tens of milliseconds and ~100 KB for an
alert that groups; most polls find nothing changed. Its tag is a digest of what it shows,
read in a few small queries that read only what the fragment shows, however many values
fire and however many deliveries they made: the open firings it lists (an alert that
groups lists a page of them, `firing_values`) and how many are open, those firings'
deliveries' states and the services they went to (connected or not), PagerDuty's incidents
for them and their timelines, who those services page now, the alert's targets' own
state; and who looks (person, role, zone, the page of values asked for). The minute is
part of it: durations and "as of" times move with the clock, and anything the digest
missed shows within a minute.

The page asks again every FAST_SECONDS while a page is on its way to PagerDuty and for a
minute after anything the fragment shows changed, else every CALM_SECONDS (`Version`): an
acknowledgement shows within seconds while people are acting, and a tab left open on a
phone does not ask 20 times a minute for hours. The pace is part of the tag, so the
fragment is drawn again (with its new interval) when the pace changes.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.db.models import Count, Max, Window
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified, QueryDict
from django.utils.http import parse_etags

from alerts_saas.accounts.access import TenantRequest
from alerts_saas.alerts.models import Alert
from alerts_saas.alerts.views.firing_values import VALUES_PAGE, VALUES_SHOWN, page_number
from integrations.pagerduty.incidents.models import Incident, OnCallNow
from integrations.pagerduty.models import Delivery

FAST_SECONDS = 3
CALM_SECONDS = 15
FAST_FOR = timedelta(minutes=1)
ON_ITS_WAY = (Delivery.Status.QUEUED, Delivery.Status.SENDING)


class Version(NamedTuple):
    """The fragment's ETag (quoted) and how often the page should ask for it again."""

    tag: str
    refresh_seconds: int


# What the fragment shows of each open firing and of each of their deliveries.
FIRING_FIELDS = ("pk", "group", "held", "severity", "opened_at", "condition_cleared_at")
DELIVERY_FIELDS = (
    "pk",
    "firing_id",
    "status",
    "attempts",
    "next_attempt_at",
    "delivered_at",
    "last_error",
    "dedup_key",
    "service_id",
    "service__account_id",  # connected through OAuth: PagerDuty reports its incidents
)


def shown_firings(alert: Alert, query: QueryDict) -> tuple[int, list[tuple[Any, ...]]]:
    """How many firings of the alert are open, and those the fragment lists (FIRING_FIELDS):
    the page of values `query` asks for (past the end, the last, as `firing_values` does) for
    an alert that groups, else its open firing. One query; two for a page past the first."""
    still_open = alert.firings.filter(cleared_at__isnull=True).order_by("opened_at", "pk")
    if not alert.group_by:
        found = list(still_open.values_list(*FIRING_FIELDS))
        return len(found), found
    number = page_number(query.get(VALUES_PAGE))
    if number == 1:  # the usual poll: the count rides on the page's rows (a window)
        rows = list(
            still_open.annotate(open_count=Window(Count("pk"))).values_list(
                *FIRING_FIELDS, "open_count"
            )[:VALUES_SHOWN]
        )
        return (rows[0][-1] if rows else 0), [row[:-1] for row in rows]
    total = still_open.count()
    last = max(1, -(-total // VALUES_SHOWN))
    start = (min(number, last) - 1) * VALUES_SHOWN
    return total, list(still_open.values_list(*FIRING_FIELDS)[start : start + VALUES_SHOWN])


def refresh_seconds(
    firings: list[tuple[Any, ...]],
    sent: list[tuple[Any, ...]],
    incidents: dict[str, Any],
    now: datetime,
) -> int:
    """FAST_SECONDS while a delivery is sending or due within FAST_FOR, or within FAST_FOR
    of the latest change (a firing opened or its condition cleared, a delivery delivered,
    an incident updated or its activity applied); else CALM_SECONDS."""
    if any(row[2] in ON_ITS_WAY and row[4] <= now + FAST_FOR for row in sent):
        return FAST_SECONDS
    times = [*(f[4] for f in firings), *(f[5] for f in firings), *(row[5] for row in sent)]
    times += [incidents.get("updated"), incidents.get("applied")]
    latest = max((t for t in times if t is not None), default=None)
    return FAST_SECONDS if latest is not None and now - latest < FAST_FOR else CALM_SECONDS


def targets_version(request: TenantRequest, alert: Alert, now: datetime) -> Version | None:
    """The fragment's version, or None when the alert is not firing."""
    total, firings = shown_firings(alert, request.GET)
    if not total:
        return None
    organization = alert.organization_id
    sent = list(
        Delivery.objects.filter(organization_id=organization, firing__in=[f[0] for f in firings])
        .order_by("pk")
        .values_list(*DELIVERY_FIELDS)
    )
    keys = sorted({row[7] for row in sent})
    services = sorted({row[8] for row in sent if row[8] is not None})
    incidents: dict[str, Any] = {}
    if keys:
        incidents = Incident.objects.filter(
            organization_id=organization, dedup_key__in=keys
        ).aggregate(
            count=Count("pk", distinct=True),
            updated=Max("updated_at"),
            noted=Max("activity__pk"),
            applied=Max("activity__applied_at"),
        )
    on_call = []
    if services:
        on_call = list(
            # Never checked reads as no row does ("Checking who is on call…"): the page's
            # own render asks for a check, and must not change the tag by doing so.
            OnCallNow.objects.filter(service__in=services, checked_at__isnull=False)
            .order_by("service_id")
            .values_list("service_id", "names", "escalation_policy", "checked_at", "problem")
        )
    paths = [  # the alert's targets, prefetched with their accounts
        (
            t.pk,
            t.name,
            t.refused_at,
            t.failing_since,
            t.unconfirmed_at,
            t.account_id,
            t.account and t.account.status,
        )
        for t in alert.targets.all()
    ]
    seen = (
        request.user.pk,
        request.tenant.role,
        getattr(request, "page_zone", None),
        request.GET.urlencode(),
        now.strftime("%Y-%m-%dT%H:%M"),
        alert.updated_at,
        alert.enabled,
        total,
    )
    pace = refresh_seconds(firings, sent, incidents, now)
    digest = hashlib.sha256(repr((seen, pace, firings, sent, incidents, paths, on_call)).encode())
    return Version(f'"{digest.hexdigest()[:32]}"', pace)


def not_modified(request: HttpRequest, etag: str) -> HttpResponse | None:
    """304 when the request already holds this version (If-None-Match), else None."""
    held = parse_etags(request.headers.get("If-None-Match", ""))
    if etag in held or "*" in held:
        response = HttpResponseNotModified()
        response["ETag"] = etag
        return response
    return None
