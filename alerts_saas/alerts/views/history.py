"""An alert's page: its state, a chart of matching events, its firings and deliveries.

Everything below the title is one section that the page refreshes by itself
(`alert_live`), so a person watching an incident sees it change.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import redis
from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import F, Prefetch, QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from alerts_saas.accounts.access import TenantRequest, tenant_get, tenant_view
from alerts_saas.alerts.chart import window_series
from alerts_saas.alerts.conditions import describe
from alerts_saas.alerts.counting import CounterSet, chart_span, counts
from alerts_saas.alerts.groups import groups_of
from alerts_saas.alerts.health import alert_health, targets_with_accounts
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.alerts.paged import Sent, sent_of
from alerts_saas.alerts.payload import group_label
from alerts_saas.alerts.state import state_of
from alerts_saas.alerts.views import mutes
from alerts_saas.alerts.views.arrivals import arrivals
from alerts_saas.alerts.views.firing_page import last_missed, with_left_open
from alerts_saas.alerts.views.firing_values import (
    firing_row,
    firing_values,
    page_number,
    with_deliveries,
)
from alerts_saas.alerts.views.fragment_tags import (
    CALM_SECONDS,
    FAST_SECONDS,
    not_modified,
    targets_version,
)
from alerts_saas.alerts.views.resolved_holding import next_firing, next_firing_for, resolved_holding
from alerts_saas.alerts.views.rows import FiringRow
from alerts_saas.ids import as_id
from alerts_saas.ingest.models import ChangeEvent
from integrations.pagerduty.history import FILTERS, alert_page, filtered
from integrations.pagerduty.incidents.lookup import incidents_of
from integrations.pagerduty.incidents.oncall import on_call
from integrations.pagerduty.models import Delivery, PagerDutyService, Reason
from integrations.pagerduty.retention import retention_cutoff

log = logging.getLogger(__name__)

FIRINGS_SHOWN = 20
FIRINGS_PAGE = "firings_page"
FIRING_SENT = "sent"  # the past firing shown open, with its deliveries (no script needed)
RECENT_SHOWN = 10
REFRESH_SECONDS = 15


def _event_rows(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The latest matching events as the table shows them (timestamps parsed)."""
    rows = []
    for event in events:
        when = parse_datetime(str(event.get("timestamp", "")))
        attributes = event.get("attributes") or {}
        rows.append(
            {**event, "when": when, "attribute_pairs": [f"{k}={v}" for k, v in attributes.items()]}
        )
    return rows


def _firings_page(alert: Alert, number: int) -> Page[Firing]:
    """One page of the alert's firings, newest first, each with its deliveries in order
    (one query for the page, one for their deliveries).

    The paginator counts the firings only when the page needs the total: the first page,
    when it is not full, is all there is. A page past the end shows the last one.
    """
    firings = _listed(alert.firings.all())
    paginator = Paginator(firings, FIRINGS_SHOWN)
    if number == 1:
        first = list(firings[:FIRINGS_SHOWN])
        if len(first) < FIRINGS_SHOWN:
            paginator.__dict__["count"] = len(first)  # Paginator.count is a cached_property
        return Page(first, 1, paginator)
    return paginator.get_page(number)


def _listed(firings: QuerySet[Firing]) -> QuerySet[Firing]:
    """The firings with the deliveries of the open ones only (in order): a cleared one's
    are loaded when the person opens it (`alert_firing_sent`)."""
    of_open = Delivery.objects.filter(firing__cleared_at__isnull=True).order_by("created_at", "pk")
    return firings.select_related("cleared_by", "cleared_by_token").prefetch_related(
        Prefetch("deliveries", queryset=of_open)
    )


def _past_rows(alert: Alert, rows: list[FiringRow], asked: str | None) -> list[FiringRow]:
    """The cleared firings' rows, lazy, with how many deliveries each sent and how many
    failed (one query); the one `asked` for (?sent=, the no-script way to open one) with
    its deliveries (one more)."""
    past = [row.pk for row in rows if not row.is_open]
    if not past:
        return rows
    counts = sent_of(alert.organization_id, past)
    opened = as_id(asked or "")
    opened = opened if opened in past else None
    loaded = with_deliveries(alert.firings.filter(pk=opened)).first() if opened else None

    def past_row(row: FiringRow) -> FiringRow:
        if row.is_open:
            return row
        if loaded is not None and row.pk == loaded.pk:
            return replace(row, deliveries=list(loaded.deliveries.all()))
        sent = counts.get(row.pk, Sent())
        return replace(
            row, lazy=True, sent=sent.total, sent_failed=sent.failed_deliveries, summary=sent
        )

    return [past_row(row) for row in rows]


def _open_firing(
    alert: Alert, page: Page[Firing], shown: list[FiringRow], now: datetime
) -> FiringRow | None:
    """The alert's open firing, for the banner: first on the first page (newest first),
    unless the alert groups (another value's firing may be newer, and cleared); otherwise
    looked up (with its deliveries): the first to fire of those still open."""
    if page.number == 1 and not alert.group_by:
        return shown[0] if shown and shown[0].is_open else None
    still_open = alert.firings.filter(cleared_at__isnull=True).order_by("opened_at", "pk")
    firing = with_deliveries(still_open).first()
    return firing_row(firing, now) if firing else None


def _with_incidents(
    alert: Alert, rows: list[FiringRow], open_rows: list[FiringRow]
) -> tuple[list[FiringRow], list[FiringRow]]:
    """The rows with PagerDuty's incidents for their triggers, which of their services tell
    us of incidents (connected through OAuth), and, for the `open_rows` (open firings),
    who their services page now: three queries for the whole page."""
    deliveries = [d for row in [*rows, *open_rows] for d in row.deliveries]
    service_ids = {d.service_id for d in deliveries if d.service_id is not None}
    if not service_ids:
        return rows, open_rows
    incidents = incidents_of(alert.organization_id, deliveries, timeline=True)
    fields = ("pk", "account_id", "organization_id", "pd_service_id")
    services = list(PagerDutyService.objects.filter(pk__in=service_ids).only(*fields))
    syncing = frozenset(s.pk for s in services if s.account_id is not None)

    def enrich(row: FiringRow) -> FiringRow:
        return replace(row, incidents=incidents, syncing=syncing)

    if open_rows:  # who is on call where they page now: not a service taken off the alert
        targets = {t.pk: t.name for t in alert.targets.all()}
        current, names = frozenset(targets), frozenset(targets.values())
        paged = {d.service_id for r in open_rows for d in r.deliveries if _pages_now(d, current)}
        now: dict[str, Any] = {"on_call": on_call(s for s in services if s.pk in paged)}
        open_rows = [
            replace(enrich(r), **now, current=current, current_names=names) for r in open_rows
        ]
    return [enrich(r) for r in rows], open_rows


def _firings_page_url(request: TenantRequest, alert: Alert, number: int) -> str:
    """The alert page with another page of firings, the other parameters kept."""
    query = request.GET.copy()
    query[FIRINGS_PAGE] = str(number)
    path = reverse("alerts:detail", args=[request.tenant.organization.slug, alert.pk])
    return f"{path}?{query.urlencode()}"


def _counts_restarted_at(alert: Alert, now: datetime) -> datetime | None:
    """When the count store started counting again, if it lost the alert's counts recently
    enough to matter to the page (within the chart's span)."""
    since = counts().since(now.timestamp())
    if since <= alert.counting_since.timestamp() or now.timestamp() - since > chart_span(
        alert.window_minutes
    ):
        return None
    return datetime.fromtimestamp(since, UTC)


def live_context(request: TenantRequest, alert: Alert) -> dict[str, Any]:
    """What the self-refreshing section shows: state, chart, latest events, firings, and
    the deliveries (filtered and paged as the request asks)."""
    now = timezone.now()
    firings_page = _firings_page(alert, page_number(request.GET.get(FIRINGS_PAGE)))
    shown = [firing_row(firing, now) for firing in firings_page.object_list]
    shown = _past_rows(alert, shown, request.GET.get(FIRING_SENT))
    open_firing = _open_firing(alert, firings_page, shown, now)
    values = firing_values(alert, request.GET, request.tenant.organization.slug, now)
    open_rows = [open_firing] if open_firing is not None else []
    shown, open_rows = _with_incidents(alert, shown, [*open_rows, *(values.rows if values else [])])
    shown = with_left_open(alert.organization_id, shown)
    if open_firing is not None:
        open_firing, open_rows = open_rows[0], open_rows[1:]
    if values is not None:
        values = replace(values, rows=open_rows)
    # Each delivery's value (host, source) where the alert groups, or two hosts' rows read
    # the same: its firing's, joined in the same query (none once the firing is pruned).
    of_alert = alert.deliveries.all()
    if alert.group_by:
        of_alert = of_alert.annotate(group_value=F("firing__group"))
    deliveries, status = filtered(of_alert, request.GET.get("status"))
    # The latest few, or all walked by cursor ("Older →"), as a service's deliveries are:
    # OFFSET cost the rows before the page, and a count the whole history, every refresh.
    page = alert_page(deliveries, status, request.GET)
    context: dict[str, Any] = {
        "page": page,
        "status": status,
        "status_filters": FILTERS,
        "hide_alert": True,
        "group_field": group_label(alert),
        "history_days": settings.DELIVERY_RETENTION_DAYS,
        "history_cutoff": retention_cutoff(now),
        "state": state_of(alert, open_firing.firing if open_firing else None, now),
        "firing": open_firing,
        "firing_values": values,
        "held_until": mutes.held_until(alert, open_firing.firing if open_firing else None, now),
        # Beside the open firing's Resolve: "Mute 1 h", or the mute and "Unmute".
        "muting": mutes.muting_line(alert, now) if open_firing or values else None,
        "firings": shown,
        "last_missed": last_missed(shown if firings_page.number == 1 else [], now),
        "firings_page": firings_page,
        "firings_cap": FIRINGS_SHOWN,
        "firing_sent": FIRING_SENT,
        "firings_newer_url": (
            _firings_page_url(request, alert, firings_page.previous_page_number())
            if firings_page.has_previous()
            else None
        ),
        "firings_older_url": (
            _firings_page_url(request, alert, firings_page.next_page_number())
            if firings_page.has_next()
            else None
        ),
        "rules": describe(alert),
        "health": alert_health(alert, list(alert.targets.all()), request.tenant.organization.slug),
        "refresh_seconds": REFRESH_SECONDS,
        # The open firing's incidents refresh faster while they change (`fragment_tags`).
        "incident_refresh_seconds": _targets_pace(request, alert, now, open_firing or values),
        "incident_fast_seconds": FAST_SECONDS,
        "now": now,
        "counts_unavailable": False,
        "chart": None,
        "current": None,
        "recent": [],
        "arrivals": None,
    }
    try:
        series = window_series(alert, now)
        recent = counts().recent(CounterSet.of(alert), RECENT_SHOWN)
        restarted = _counts_restarted_at(alert, now)
        context["groups"] = groups_of(
            alert, list(alert.firings.filter(cleared_at__isnull=True)), now.timestamp()
        )
    except redis.RedisError:
        log.exception("Reading the counts of alert %s failed", alert.pk)
        context["counts_unavailable"] = True
        return context
    context["current"] = series.values[-1] if series.values else 0
    context["recent"] = _event_rows(recent)
    if restarted is not None:
        context["counts_restarted_at"] = restarted
        firing = open_firing.firing if open_firing else None
        context["state"] = state_of(alert, firing, now, counts_since=restarted)
    newest = shown[0] if shown and firings_page.number == 1 else None
    context["resolved_holding"] = resolved_holding(
        alert, context["state"], newest, context["current"], now, restarted
    )
    if context["resolved_holding"] is not None or open_firing is not None or values:
        context["next_firing"] = next_firing(alert, context["health"], now)
    quiet = not recent and not any(series.values)
    if quiet:  # why nothing matched: no events, or events the rules don't count
        counted_since = restarted or alert.counting_since  # earlier events were not matched
        context["arrivals"] = arrivals(alert.organization_id, now, counted_since)
    # A firing alert is charted even at zero (an absence alert's usual case): the line
    # under its threshold shows why it fires.
    if not quiet or open_firing is not None:
        context["chart"] = {
            "times": series.times,
            "values": series.values,
            "threshold": series.threshold,
            "absence": alert.is_absence,
            "window": alert.window_label,
            # The x axis spans the whole chart, however recently counting started.
            "since": now.timestamp() - chart_span(alert.window_minutes),
            "until": now.timestamp(),
        }
        # Deploys and configuration changes the organization reported, as markers.
        context["chart"]["changes"] = ChangeEvent.on_chart(
            alert.organization_id, context["chart"]["since"], context["chart"]["until"]
        )
    return context


def _alert(request: TenantRequest, alert_id: int) -> Alert:
    alert = tenant_get(
        request, Alert.objects.prefetch_related(targets_with_accounts()), pk=alert_id
    )
    alert.organization = request.tenant.organization  # already loaded: no query for it
    return alert


@tenant_view()
def alert_detail(request: TenantRequest, alert_id: int) -> HttpResponse:
    alert = _alert(request, alert_id)
    return render(
        request,
        "alerts/detail.html",
        {
            "alert": alert,
            "nav_section": "alerts",
            **live_context(request, alert),
            **mutes.alert_mutes_context(alert, request),
        },
    )


@tenant_view()
def alert_live(request: TenantRequest, alert_id: int) -> HttpResponse:
    """The page's self-refreshing section alone."""
    alert = _alert(request, alert_id)
    return render(request, "alerts/_live.html", {"alert": alert, **live_context(request, alert)})


@tenant_view()
def alert_firing_targets(request: TenantRequest, alert_id: int) -> HttpResponse:
    """The open firing's targets and incidents alone (the page polls it every few seconds),
    or, for an alert that groups, the page of its firing values; nothing (204) when the
    alert is not firing: the section's own refresh shows that. 304 when nothing it shows
    changed since the version the page holds (`fragment_tags`)."""
    alert = _alert(request, alert_id)
    now = timezone.now()
    version = targets_version(request, alert, now)
    if version is None:
        return HttpResponse(status=204)
    unchanged = not_modified(request, version.tag)
    if unchanged is not None:
        return unchanged
    response = _firing_targets(request, alert, now, version.refresh_seconds)
    if response.status_code == 200:
        response["ETag"] = version.tag
    return response


def _pages_now(delivery: Delivery, targets: frozenset[int]) -> bool:
    return delivery.service_id in targets or delivery.reason == Reason.FALLBACK


def _targets_pace(request: TenantRequest, alert: Alert, now: datetime, firing: object) -> int:
    """How often the open firing's targets refresh (CALM_SECONDS when nothing is firing)."""
    version = targets_version(request, alert, now) if firing else None
    return version.refresh_seconds if version else CALM_SECONDS


def _firing_targets(request: TenantRequest, alert: Alert, now: datetime, pace: int) -> HttpResponse:
    context: dict[str, Any] = {"alert": alert, "incident_refresh_seconds": pace}
    if alert.group_by:
        values = firing_values(alert, request.GET, request.tenant.organization.slug, now)
        if values is None:
            return HttpResponse(status=204)
        _, rows = _with_incidents(alert, [], values.rows)
        context["firing_values"] = replace(values, rows=rows)
        context["next_firing"] = next_firing_for(alert, request.tenant.organization.slug, now)
        return render(request, "alerts/_firing_values.html", context)
    firing = with_deliveries(alert.firings.filter(cleared_at__isnull=True)).first()
    if firing is None:
        return HttpResponse(status=204)
    _, [context["firing"]] = _with_incidents(alert, [], [firing_row(firing, now)])
    return render(request, "alerts/_firing_targets.html", context)


@tenant_view()
def alert_firing_sent(request: TenantRequest, alert_id: int, firing_id: int) -> HttpResponse:
    """What a past firing sent and what PagerDuty made of it, for the page to show when its
    row is opened (htmx); without htmx, the alert page with that firing open."""
    alert = _alert(request, alert_id)
    firing = get_object_or_404(with_deliveries(alert.firings.all()), pk=firing_id)
    if not request.headers.get("HX-Request"):
        path = reverse("alerts:detail", args=[request.tenant.organization.slug, alert.pk])
        return redirect(f"{path}?{FIRING_SENT}={firing.pk}#firing-{firing.pk}")
    now = timezone.now()
    [row], _ = _with_incidents(alert, [firing_row(firing, now)], [])
    context = {
        "alert": alert,
        "f": row,
        "history_days": settings.DELIVERY_RETENTION_DAYS,
        "history_cutoff": retention_cutoff(now),
    }
    return render(request, "alerts/_firing_sent.html", context)
