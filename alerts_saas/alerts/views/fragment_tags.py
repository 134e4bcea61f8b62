"""ETags for the firing's targets fragment, which a page polls every few seconds.

The fragment (`history.alert_firing_targets`) costs tens of milliseconds and ~100 KB for an
alert that groups; most polls find nothing changed. Its tag is a digest of what it shows,
read in a few small queries: the open firings, their deliveries' states, PagerDuty's
incidents for them and what they record, who the targets page now, the targets' own
state; and of who looks (person, role, zone, the page of values asked for). The minute is
part of it: durations and "as of" times move with the clock, and anything the digest
missed shows within a minute.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from django.db.models import Count, Max
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils.http import parse_etags

from alerts_saas.accounts.access import TenantRequest
from alerts_saas.alerts.models import Alert
from integrations.pagerduty.incidents.models import Incident, OnCallNow
from integrations.pagerduty.models import Delivery


def targets_etag(request: TenantRequest, alert: Alert, now: datetime) -> str | None:
    """The fragment's ETag (quoted), or None when the alert is not firing."""
    open_firings = alert.firings.filter(cleared_at__isnull=True)
    firings = list(
        open_firings.order_by("pk").values_list(
            "pk", "group", "held", "severity", "opened_at", "condition_cleared_at"
        )
    )
    if not firings:
        return None
    deliveries = Delivery.objects.filter(
        organization_id=alert.organization_id, firing__in=[f[0] for f in firings]
    )
    sent = list(
        deliveries.order_by("pk").values_list(
            "pk", "status", "attempts", "next_attempt_at", "delivered_at", "last_error"
        )
    )
    incidents = Incident.objects.filter(
        organization_id=alert.organization_id,
        dedup_key__in=deliveries.values("dedup_key"),
    ).aggregate(
        count=Count("pk", distinct=True),
        updated=Max("updated_at"),
        activity=Max("activity__applied_at"),
    )
    targets = list(alert.targets.all())  # prefetched with their accounts
    paths = [
        (t.pk, t.name, t.refused_at, t.failing_since, t.account_id, t.account and t.account.status)
        for t in targets
    ]
    on_call = list(
        OnCallNow.objects.filter(service__in=[t.pk for t in targets])
        .order_by("service_id")
        .values_list("service_id", "names", "checked_at", "problem")
    )
    seen = (
        request.user.pk,
        request.tenant.role,
        getattr(request, "page_zone", None),
        request.GET.urlencode(),
        now.strftime("%Y-%m-%dT%H:%M"),
        alert.updated_at,
        alert.enabled,
    )
    digest = hashlib.sha256(repr((seen, firings, sent, incidents, paths, on_call)).encode())
    return f'"{digest.hexdigest()[:32]}"'


def not_modified(request: HttpRequest, etag: str) -> HttpResponse | None:
    """304 when the request already holds this version (If-None-Match), else None."""
    held = parse_etags(request.headers.get("If-None-Match", ""))
    if etag in held or "*" in held:
        response = HttpResponseNotModified()
        response["ETag"] = etag
        return response
    return None
